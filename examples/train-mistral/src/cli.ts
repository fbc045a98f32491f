#!/usr/bin/env node
// The example's command line: train, eval, ablate, prepare-data, plan.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RemaxError } from '@remax/core';
import { convertUltraRMForVllm } from '@remax/reward-ultrarm';
import { Tokenizer } from '@remax/tokenizer';
import { Command, InvalidArgumentError, Option } from 'commander';
import { oneLine, reportCliError } from './cliErrors.js';
import { defaultConfigPath, loadRunConfig, packageRoot, parseRunConfig } from './config/load.js';
import { resumeConfig } from './config/resume.js';
import type { RunConfig } from './config/schema.js';
import { type PreparedPrompt, readPromptSource, selectPrompts, toJsonl } from './data/prepare.js';
import { assertPromptsFit, requireEnoughPrompts } from './data/promptChecks.js';
import { formatBytes, formatPlan, planRun } from './plan/plan.js';
import { type AlgoName, algoNames, parseAlgoList } from './registry/lookup.js';
import { ablate } from './run/ablate.js';
import { evaluatePair } from './run/evaluate.js';
import { readMetrics } from './run/metrics.js';
import { loadRunPrompts } from './run/promptSet.js';
import { chatTemplateOf, promptIds } from './run/prompts.js';
import { reporterHints } from './run/reporters/where.js';
import { writeRunReport } from './run/runReport.js';
import { readResolvedConfig, train } from './run/train.js';
import { type ServeCommandOptions, serveModels } from './serve/serve.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const algoOption = () =>
  new Option('--algo <name>', 'algorithm (overrides the config)').choices(algoNames);
const setOption = () =>
  new Option('--set <key=value>', 'override a config key (repeatable), e.g. --set kl_ctl=0.05')
    .argParser(collect)
    .default([] as string[]);
const configOption = () =>
  new Option('-c, --config <file>', 'run config (YAML)').default(
    defaultConfigPath,
    'configs/tiny.yaml',
  );

function intList(value: string): number[] {
  const out = value.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n)))
    throw new InvalidArgumentError('expected integers like 1,2');
  return out;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const { version } = JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('remax-train-mistral')
  .version(version, '-V, --version', 'print the version')
  .description(`Align Mistral on tfjs with ${algoNames.join(', ')}: train, evaluate, ablate, plan.`)
  // usage errors (unknown option, bad choice) are typed one-line errors too; set before
  // the subcommands are defined, which inherit both settings
  .configureOutput({
    outputError: (text, write) =>
      write(`error [E_CONFIG]: ${oneLine(text.replace(/^error: /, ''))} (see --help)\n`),
  })
  .exitOverride((e) => {
    process.exit(e.exitCode === 0 ? 0 : 2);
  });

program
  .command('train')
  .description(`train the policy with the config's \`algo\` (${algoNames.join(' | ')})`)
  .addOption(configOption())
  .addOption(algoOption())
  .addOption(setOption())
  .option('--run-dir <dir>', 'run directory (default: output.dir of the config)')
  .option('--resume <runDir>', 'continue a run from its newest complete checkpoint')
  .option('--overwrite', 'delete an earlier run in the run directory and start again')
  .option('--no-progress', 'no progress bar')
  .action(
    async (
      opts: {
        config: string;
        algo?: AlgoName;
        set: string[];
        runDir?: string;
        resume?: string;
        overwrite?: boolean;
        progress: boolean;
      },
      command: Command,
    ) => {
      let config: RunConfig;
      let runDir: string;
      if (opts.resume !== undefined) {
        // a resumed run keeps its saved config: flags that would change it are applied or refused
        for (const flag of ['config', 'runDir', 'overwrite'] as const) {
          if (command.getOptionValueSource(flag) === 'cli') {
            throw new RemaxError('E_CONFIG', 'option cannot be combined with --resume', {
              field: `--${flag === 'runDir' ? 'run-dir' : flag}`,
              expected: 'the run directory as --resume <dir> (its config.yaml is used)',
            });
          }
        }
        runDir = resolve(opts.resume);
        const resumed = resumeConfig(readResolvedConfig(runDir), join(runDir, 'config.yaml'), {
          set: opts.set,
          algo: opts.algo,
        });
        config = resumed.config;
        for (const c of resumed.changes)
          process.stderr.write(
            `resume: ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}\n`,
          );
      } else {
        config = loadRunConfig(opts.config, {
          ...(opts.algo ? { algo: opts.algo } : {}),
          set: opts.set,
        }).config;
        runDir = resolve(opts.runDir ?? config.output.dir);
      }
      const result = await train({
        config,
        runDir,
        resume: opts.resume !== undefined,
        overwrite: opts.overwrite === true,
        progress: opts.progress && process.stderr.isTTY === true,
        onStep:
          opts.progress && process.stderr.isTTY
            ? undefined
            : (r) =>
                console.log(
                  JSON.stringify({
                    step: r.step,
                    reward: r.reward,
                    greedy_reward: r.greedy_reward,
                    kl: r.kl,
                    seconds: r.seconds,
                  }),
                ),
      });
      console.log(
        JSON.stringify({
          run_dir: result.runDir,
          steps: result.records.length,
          stopped: result.stopped,
          checkpoint: result.lastCheckpoint,
          final: result.finalDir,
        }),
      );
    },
  );

program
  .command('eval')
  .description('pairwise win rate of a policy against a baseline, judged by the reward model')
  .requiredOption('--policy <dir>', 'HF checkpoint directory of the trained policy')
  .requiredOption(
    '--baseline <dir>',
    'HF checkpoint directory of the baseline (e.g. the starting policy)',
  )
  .addOption(configOption())
  .addOption(setOption())
  .option('--prompts <file>', 'prompts JSONL (default: the held-out prompts of the config)')
  .option('--out <dir>', 'output directory', 'runs/eval')
  .action(
    async (opts: {
      policy: string;
      baseline: string;
      config: string;
      set: string[];
      prompts?: string;
      out: string;
    }) => {
      const { config } = loadRunConfig(opts.config, { set: opts.set });
      const tokenizer = await Tokenizer.fromDir(config.policy.path);
      let prompts: PreparedPrompt[];
      if (opts.prompts !== undefined) {
        const file = resolve(opts.prompts);
        const read = await readPromptSource(file);
        assertPromptsFit(read, file, (p) => promptIds(tokenizer, p).length, config);
        prompts = read.map((p) => ({ prompt: p.prompt, source: p.source }));
      } else {
        prompts = (await loadRunPrompts(config, tokenizer)).prompts.eval;
      }
      const summary = await evaluatePair({
        config,
        policyDir: resolve(opts.policy),
        baselineDir: resolve(opts.baseline),
        prompts,
        outDir: resolve(opts.out),
      });
      console.log(JSON.stringify(summary, null, 2));
    },
  );

program
  .command('ablate')
  .description(
    'run the config under several algorithms and seeds at one generation budget; tables + overlaid charts',
  )
  .addOption(configOption())
  .addOption(setOption())
  .option('--algos <list>', 'comma-separated algorithms', algoNames.join(','))
  .option('--seeds <list>', 'comma-separated seeds', intList, [1, 2])
  .option(
    '--responses-per-step <n>',
    "responses every algorithm generates per step (default: what the config's algorithm generates)",
    positiveInt,
  )
  .option(
    '--reuse',
    'keep finished runs of the same config in --out (continue an interrupted ablation)',
  )
  .option('--report-only', 'train nothing: tables and charts from the finished runs in --out')
  .option('--out <dir>', 'output directory', 'runs/ablate')
  .option('--overwrite', 'delete earlier runs in the output directory')
  .option('--no-progress', 'no progress bar')
  .action(
    async (opts: {
      config: string;
      set: string[];
      algos: string;
      seeds: number[];
      out: string;
      responsesPerStep?: number;
      reuse?: boolean;
      reportOnly?: boolean;
      overwrite?: boolean;
      progress: boolean;
    }) => {
      const algos = parseAlgoList(opts.algos);
      const { config } = loadRunConfig(opts.config, { set: opts.set });
      const { table } = await ablate({
        config,
        algos,
        seeds: opts.seeds,
        ...(opts.responsesPerStep === undefined ? {} : { responsesPerStep: opts.responsesPerStep }),
        existing: opts.reportOnly ? 'only' : opts.reuse ? 'reuse' : 'retrain',
        outDir: resolve(opts.out),
        overwrite: opts.overwrite === true,
        progress: opts.progress && process.stderr.isTTY === true,
      });
      console.log(table);
    },
  );

program
  .command('prepare-data')
  .description('select prompts from lmsys-chat-1m parquet shards or JSONL into a prompts JSONL')
  .requiredOption('--input <path>', 'a parquet shard, a directory of shards, or a JSONL file')
  .requiredOption('--output <file>', 'prompts JSONL to write')
  .addOption(configOption())
  .addOption(setOption())
  .option(
    '-n, --num <n>',
    'prompts to keep (default: data.num_prompts + data.eval_prompts)',
    Number,
  )
  .action(
    async (opts: {
      input: string;
      output: string;
      config: string;
      set: string[];
      num?: number;
    }) => {
      const { config } = loadRunConfig(opts.config, { set: opts.set });
      const tokenizer = await Tokenizer.fromDir(config.policy.path);
      const template = chatTemplateOf(config);
      const candidates = await readPromptSource(resolve(opts.input));
      const count = opts.num ?? config.data.num_prompts + config.data.eval_prompts;
      const { prompts, stats } = selectPrompts(candidates, {
        filters: config.data.filters,
        promptLength: (p) => promptIds(tokenizer, p, template).length,
        maxPromptSeq: config.data.max_prompt_seq,
        seed: config.seed,
        count,
      });
      requireEnoughPrompts(prompts.length, stats, {
        source: resolve(opts.input),
        needed: opts.num ?? config.train.batch_size,
        what: opts.num === undefined ? 'train.batch_size (one batch)' : '--num',
      });
      mkdirSync(dirname(resolve(opts.output)), { recursive: true });
      writeFileSync(resolve(opts.output), toJsonl(prompts));
      console.log(JSON.stringify({ output: resolve(opts.output), ...stats }, null, 2));
    },
  );

program
  .command('plan')
  .description('parameter counts and a memory estimate per component, before a run')
  .addOption(configOption())
  .addOption(algoOption())
  .addOption(setOption())
  .addOption(
    new Option('--backend <name>', 'backend to plan for')
      .choices(['wasm', 'cpu', 'tensorflow'])
      .default('wasm'),
  )
  .option('--memory-limit <GiB>', "memory available (e.g. a GPU's 80)", Number)
  .option('--strict', 'exit non-zero when the run does not fit (or no limit is known)')
  .action(
    (opts: {
      config: string;
      algo?: AlgoName;
      set: string[];
      backend: string;
      memoryLimit?: number;
      strict?: boolean;
    }) => {
      const { config } = loadRunConfig(opts.config, {
        ...(opts.algo ? { algo: opts.algo } : {}),
        set: opts.set,
      });
      const limit =
        opts.memoryLimit === undefined ? {} : { limitBytes: opts.memoryLimit * 1024 ** 3 };
      const plan = planRun(config, opts.backend, limit);
      process.stdout.write(formatPlan(plan));
      if (config.lora !== null) {
        // the same run with full fine-tuning, for comparison
        const full = planRun({ ...config, lora: null }, opts.backend, limit);
        process.stdout.write(`\nfull fine-tuning, for comparison:\n\n${formatPlan(full)}`);
        process.stdout.write(
          `\nLoRA / full fine-tuning: ${(plan.totalBytes / full.totalBytes).toFixed(2)}x (${formatBytes(plan.totalBytes)} vs ${formatBytes(full.totalBytes)})\n`,
        );
      }
      if (opts.strict && plan.fits !== true) {
        throw new RemaxError('E_CONFIG', 'plan --strict: the run does not fit', {
          field: '--memory-limit',
          value: plan.limitBytes === null ? 'no limit known' : `${plan.limitBytes} bytes`,
          expected: `at least ${plan.totalBytes} bytes (the estimate above)`,
        });
      }
    },
  );

program
  .command('serve')
  .description("serve a policy (and a reward model) over vLLM's OpenAI-compatible protocol subset")
  .requiredOption('--model <dir>', 'policy checkpoint directory (HF layout)')
  .option('--served-model-name <name>', 'name clients send as `model` (default: the directory)')
  .option(
    '--reward-model <dir>',
    'reward model directory for POST /classify (UltraRM or converted)',
  )
  .option('--reward-name <name>', 'served name of the reward model (default: its directory name)')
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .option('--port <port>', 'port (0: any free port)', Number, 8000)
  .option('--api-key <key>', 'require `Authorization: Bearer <key>` (default: $VLLM_API_KEY)')
  .option('--enable-lora', 'enable /v1/load_lora_adapter and /v1/unload_lora_adapter', false)
  .option('--seed <n>', 'seed of the server RNG for requests without `seed` (vLLM --seed)', Number)
  .action(async (opts: ServeCommandOptions & { apiKey?: string }) => {
    const apiKey = opts.apiKey ?? process.env.VLLM_API_KEY;
    const server = await serveModels({ ...opts, ...(apiKey ? { apiKey } : {}) });
    console.log(
      JSON.stringify({ url: server.url, base_url: `${server.url}/v1`, port: server.port }),
    );
    const stop = () => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('convert-rm')
  .description(
    'write UltraRM as LlamaForSequenceClassification (score.weight) for vLLM --runner pooling',
  )
  .argument('<srcDir>', 'UltraRM directory (LlamaRewardModel: .bin shards or safetensors)')
  .argument('<outDir>', 'output directory')
  .action(async (src: string, out: string) => {
    const result = await convertUltraRMForVllm(resolve(src), resolve(out));
    console.log(
      JSON.stringify({
        out_dir: result.outDir,
        tensors: result.tensors,
        files: result.files.length,
      }),
    );
  });

program
  .command('report')
  .description('re-render report.html and the charts of a run directory from its metrics.jsonl')
  .argument('<runDir>', 'a run directory written by train')
  .action(async (dir: string) => {
    const runDir = resolve(dir);
    const config = parseRunConfig(readResolvedConfig(runDir), join(runDir, 'config.yaml'));
    console.log(`report: ${await writeRunReport(runDir, config, readMetrics(runDir))}`);
    for (const line of reporterHints(runDir, config)) console.log(line);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.exit(reportCliError(e, process.stderr, process.env['REMAX_DEBUG'] === '1'));
});
