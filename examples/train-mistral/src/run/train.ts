import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Algorithm,
  initBackend,
  isRemaxError,
  RemaxError,
  Rng,
  type StepMetrics,
  tf,
} from '@remax/core';
import YAML from 'yaml';
import { assertInputsExist } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import type { GenerationShape } from '../registry/generation.js';
import { algorithmNamed, createAlgorithm, generationShape } from '../registry/lookup.js';
import { ADAPTERS_DIR } from './adapterSync.js';
import {
  latestCheckpoint,
  readCheckpointState,
  type TrainerState,
  writeCheckpoint,
} from './checkpoint.js';
import { engineStopped, makeEngines } from './engines.js';
import { headlineMetrics } from './headline.js';
import { checkLoraConfig, saveFinalPolicy, savePolicyState } from './lora.js';
import { appendMetrics, METRICS_FILE, readMetrics, type StepRecord } from './metrics.js';
import { loadRunModels } from './models.js';
import { loadParametersInto, saveParameters } from './parameters.js';
import { TrainProgress } from './progress.js';
import { loadRunPrompts } from './promptSet.js';
import { chatTemplateOf, promptBatch } from './prompts.js';
import { openReporters } from './reporters/index.js';
import { writeRunReport } from './runReport.js';

export const RESOLVED_CONFIG = 'config.yaml';

export interface TrainOptions {
  config: RunConfig;
  /** Run directory (default config.output.dir). */
  runDir?: string;
  /** Continue the run in runDir from its latest checkpoint. */
  resume?: boolean;
  /** Stop once this many steps are done in total (the run's own limit still applies). */
  stopAfter?: number;
  /** Show the progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Called after every step (tests, ablations). */
  onStep?: (record: StepRecord) => void;
}

export interface TrainResult {
  runDir: string;
  records: StepRecord[];
  /** Why the loop ended. */
  stopped: 'done' | 'interrupted' | 'stop-after';
  lastCheckpoint: string | null;
  finalDir: string | null;
}

/** Number of optimizer steps a config runs: whole batches per epoch, times epochs, capped. */
export function plannedSteps(config: RunConfig, trainPrompts: number): number {
  const perEpoch = Math.floor(trainPrompts / config.train.batch_size);
  const all = perEpoch * config.train.epochs;
  return config.train.max_steps === null ? all : Math.min(all, config.train.max_steps);
}

/** Prompt order of one epoch: a seeded permutation that depends only on (seed, epoch). */
export function epochOrder(seed: number, epoch: number, n: number): number[] {
  return Rng.derive(seed, 0x5eed, epoch).shuffle(Array.from({ length: n }, (_, i) => i));
}

/**
 * Trains the policy with the configured algorithm: one loop for every
 * algorithm (rollout and update live in the algorithm), metrics.jsonl and
 * samples every step, HF checkpoints every `checkpoint_every` steps and on
 * Ctrl-C, and report.html at the end.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config } = options;
  const runDir = options.runDir ?? config.output.dir;
  await initBackend(config.backend);
  const entry = algorithmNamed(config.algo);
  checkLoraConfig(config);
  const shape = generationShape(config, config.algo);
  assertInputsExist(config, [
    'policy',
    'reference',
    'reward',
    'data',
    ...(entry.needsCritic ? (['critic'] as const) : []),
  ]);

  let resumeFrom: string | null = null;
  if (options.resume) resumeFrom = latestCheckpoint(runDir);
  else clearRunOutputs(runDir);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, RESOLVED_CONFIG), YAML.stringify(config));

  const models = await loadRunModels(config, {
    withCritic: entry.needsCritic,
    ...(resumeFrom ? { policyFrom: join(resumeFrom, 'policy') } : {}),
  });
  const { prompts } = await loadRunPrompts(config, models.tokenizer, runDir);
  const total = plannedSteps(config, prompts.train.length);
  if (total === 0) {
    models.dispose();
    throw new RemaxError('E_CONFIG', 'not enough prompts for one batch', {
      field: 'train.batch_size',
      value: config.train.batch_size,
      expected: `<= ${prompts.train.length} (the training prompts selected)`,
    });
  }

  let state: TrainerState = {
    step: 0,
    epoch: 0,
    cursor: 0,
    prompts_seen: 0,
    rng: Rng.fromSeed(config.seed).state(),
    algo: config.algo,
    elapsed_s: 0,
  };
  let restored: Awaited<ReturnType<typeof readCheckpointState>> | null = null;
  if (resumeFrom) {
    restored = await readCheckpointState(resumeFrom);
    state = restored.state;
    if (state.algo !== config.algo) {
      throw new RemaxError('E_STATE', 'checkpoint was written by another algorithm', {
        file: resumeFrom,
        value: state.algo,
        expected: config.algo,
      });
    }
    if (models.critic)
      await loadParametersInto(models.critic.parameters(), join(resumeFrom, 'critic.safetensors'));
    // metrics after the checkpoint belong to a continuation that is being redone
    const kept = readMetrics(runDir, state.step);
    writeFileSync(join(runDir, METRICS_FILE), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    trimSamples(runDir, state.step);
  }

  const reporters = await openReporters(config, runDir, {
    resumeStep: resumeFrom ? state.step : null,
  });
  const chatTemplate = chatTemplateOf(config);
  const rng = Rng.fromState(state.rng);
  const genStats = { lastTokens: 0, lastSeconds: 0 };
  let lastScored: { texts: string[]; rewards: Float32Array }[] = [];
  const { generate, reward, sync } = makeEngines(
    config,
    models,
    genStats,
    (s) => {
      lastScored.push({ texts: s.texts, rewards: s.rewards });
    },
    runDir,
  );
  const context = {
    policy: models.trainPolicy,
    reference: models.reference,
    generate,
    reward,
    rng,
    ...(models.critic ? { critic: models.critic } : {}),
  };
  const algorithm = createAlgorithm(config, total, context);
  if (restored) {
    algorithm.setState(restored.algoState);
    tf.dispose([...restored.algoState.tensors.values()]);
  }

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // second Ctrl-C: leave now (checkpoints are atomic)
    interrupted = true;
    process.stderr.write('\nCtrl-C: finishing this step, saving a checkpoint, then exiting\n');
  };
  process.on('SIGINT', onSigint);

  const records: StepRecord[] = readMetrics(runDir);
  const progress = new TrainProgress(
    total,
    state.step,
    options.progress ?? process.stderr.isTTY === true,
  );
  let lastCheckpoint: string | null = null;
  let stopped: TrainResult['stopped'] = 'done';
  const saveCheckpoint = async (rngState = rng.state()) => {
    lastCheckpoint = await writeCheckpoint(
      runDir,
      { ...state, rng: rngState },
      algorithm.getState(),
      async (dir) => {
        await savePolicyState(models.policy, dir, config);
        if (models.critic)
          await saveParameters(models.critic.parameters(), join(dir, '..', 'critic.safetensors'));
      },
    );
  };

  try {
    // the engine samples from the policy as it stands now, before the first rollout
    if (sync) await sync.sync(state.step);
    let order = epochOrder(config.seed, state.epoch, prompts.train.length);
    while (state.step < total) {
      if (state.cursor + config.train.batch_size > prompts.train.length) {
        state = { ...state, epoch: state.epoch + 1, cursor: 0 };
        order = epochOrder(config.seed, state.epoch, prompts.train.length);
      }
      const texts = order
        .slice(state.cursor, state.cursor + config.train.batch_size)
        .map((i) => prompts.train[i]?.prompt ?? '');
      lastScored = [];
      const t0 = performance.now();
      const rngBefore = rng.state();
      const { metrics, peakBytes } = await runStep(
        algorithm,
        models.tokenizer,
        texts,
        chatTemplate,
      ).catch(async (e: unknown) => {
        if (!isRemaxError(e, 'E_ENGINE')) throw e;
        await saveCheckpoint(rngBefore); // the failed step redone on --resume, same seeds
        throw engineStopped(e, runDir, state.step);
      });
      const seconds = (performance.now() - t0) / 1000;
      state = {
        ...state,
        step: state.step + 1,
        cursor: state.cursor + config.train.batch_size,
        prompts_seen: state.prompts_seen + texts.length,
        elapsed_s: state.elapsed_s + seconds,
      };
      const { rollout_tokens_per_s: _unused, ...headline } = headlineMetrics(metrics);
      const record: StepRecord = {
        step: state.step,
        epoch: state.epoch,
        prompts_seen: state.prompts_seen,
        ...headline,
        // generated tokens (sampled + greedy rows) per second of generation
        tokens_per_s: genStats.lastSeconds > 0 ? genStats.lastTokens / genStats.lastSeconds : 0,
        seconds,
        peak_tensor_bytes: peakBytes,
        rss_bytes: process.memoryUsage().rss,
        algo: metrics,
      };
      appendMetrics(runDir, record);
      reporters.log(record);
      records.push(record);
      if (state.step % config.output.samples_every === 0)
        writeSamples(runDir, state.step, texts, lastScored, shape);
      progress.update(record);
      options.onStep?.(record);

      const every = config.output.checkpoint_every;
      const last = state.step === total;
      const stopHere = options.stopAfter !== undefined && state.step >= options.stopAfter;
      if (interrupted || stopHere || last || (every > 0 && state.step % every === 0))
        await saveCheckpoint();
      if (interrupted) {
        stopped = 'interrupted';
        break;
      }
      if (stopHere && !last) {
        stopped = 'stop-after';
        break;
      }
      if (sync?.due(state.step) && state.step < total) {
        await sync.sync(state.step).catch(async (e: unknown) => {
          if (!isRemaxError(e, 'E_ENGINE')) throw e;
          await saveCheckpoint(); // the step is done; --resume syncs again before its first rollout
          throw engineStopped(e, runDir, state.step);
        });
      }
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    await reporters.close();
  }

  let finalDir: string | null = null;
  if (stopped === 'done') {
    finalDir = join(runDir, 'final');
    await saveFinalPolicy(models.policy, finalDir, config);
    if (config.output.report) await writeRunReport(runDir, config, records);
  }
  algorithm.dispose();
  models.dispose();
  return { runDir, records, stopped, lastCheckpoint, finalDir };
}

/**
 * One step: make the experience, train on it. Peak tensor bytes come from the
 * algorithm's own watermark when it reports one (sampled at its phase
 * boundaries); tf.profile would give the exact peak but syncs every kernel
 * (10x slower), so it is used only in the bench.
 */
async function runStep(
  algorithm: Algorithm,
  tokenizer: Parameters<typeof promptBatch>[0],
  texts: string[],
  chatTemplate: ReturnType<typeof chatTemplateOf>,
): Promise<{ metrics: StepMetrics; peakBytes: number }> {
  const batch = promptBatch(tokenizer, texts, chatTemplate);
  try {
    const experience = await algorithm.makeExperience(batch);
    try {
      const metrics = { ...experience.metrics, ...(await algorithm.trainStep(experience)) };
      const reported = metrics['memory/peak_tensor_bytes'];
      return { metrics, peakBytes: Math.max(reported ?? 0, tf.memory().numBytes) };
    } finally {
      experience.dispose();
    }
  } finally {
    tf.dispose([batch.inputIds, batch.attentionMask]);
  }
}

/**
 * Appends the first two rows of each reward call of the step. The sampled
 * call (the first) holds `samplesPerPrompt` rows per prompt, a greedy call one.
 */
function writeSamples(
  runDir: string,
  step: number,
  prompts: readonly string[],
  scored: readonly { texts: string[]; rewards: Float32Array }[],
  shape: GenerationShape,
): void {
  const lines = scored.flatMap((call, callIndex) =>
    call.texts.slice(0, 2).map((text, row) =>
      JSON.stringify({
        step,
        call: callIndex,
        row,
        prompt: prompts[Math.floor(row / (callIndex === 0 ? shape.samplesPerPrompt : 1))] ?? null,
        text,
        reward: call.rewards[row],
      }),
    ),
  );
  if (lines.length > 0)
    writeFileSync(join(runDir, 'samples.jsonl'), `${lines.join('\n')}\n`, { flag: 'a' });
}

export function readResolvedConfig(runDir: string): unknown {
  const file = join(runDir, RESOLVED_CONFIG);
  if (!existsSync(file)) {
    throw new RemaxError('E_FILE', 'not a run directory (no config.yaml)', { file });
  }
  return YAML.parse(readFileSync(file, 'utf8'));
}

function trimSamples(runDir: string, step: number): void {
  const file = join(runDir, 'samples.jsonl');
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step);
  writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
}

/**
 * A fresh (not resumed) run starts from nothing: outputs of an earlier run in
 * the same directory are removed, so metrics never mix two runs.
 */
function clearRunOutputs(runDir: string): void {
  for (const name of [
    METRICS_FILE,
    'samples.jsonl',
    'report.html',
    'charts',
    'checkpoints',
    ADAPTERS_DIR,
    'final',
  ]) {
    rmSync(join(runDir, name), { recursive: true, force: true });
  }
}
