import { mkdirSync } from 'node:fs';
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
import { Tokenizer } from '@remax/tokenizer';
import YAML from 'yaml';
import { assertInputsExist } from '../config/load.js';
import { assertLengthsFit } from '../config/modelFit.js';
import type { RunConfig } from '../config/schema.js';
import { algorithmNamed, createAlgorithm, generationShape } from '../registry/lookup.js';
import {
  findResumePoint,
  pruneCheckpoints,
  readCheckpointState,
  type TrainerState,
  writeCheckpoint,
} from './checkpoint.js';
import { nodeIo, type RunIo, replaceAtomically } from './durableWrite.js';
import { engineStopped, makeEngines } from './engines.js';
import { headlineMetrics } from './headline.js';
import { hfTrainerState, writePolicyExtras } from './hfFiles.js';
import { checkLoraConfig, MERGED_DIR, saveFinalPolicy, savePolicyState } from './lora.js';
import { appendMetrics, cutMetrics, type StepRecord } from './metrics.js';
import { loadRunModels } from './models.js';
import { countSkips, finiteMetrics, finiteOrNull } from './nonFinite.js';
import { loadParametersInto, saveParameters } from './parameters.js';
import { TrainProgress } from './progress.js';
import { loadRunPrompts } from './promptSet.js';
import { chatTemplateOf, promptBatch } from './prompts.js';
import { openReporters } from './reporters/index.js';
import { prepareNewRunDirectory, RESOLVED_CONFIG, readResolvedConfig } from './runDirectory.js';
import { writeRunReport } from './runReport.js';
import { cutSamples, writeSamples } from './samples.js';
import { listenForStop } from './signals.js';

export { RESOLVED_CONFIG, readResolvedConfig };

export interface TrainOptions {
  config: RunConfig;
  /** Run directory (default config.output.dir). */
  runDir?: string;
  /** Continue the run in runDir from its newest complete checkpoint. */
  resume?: boolean;
  /** Delete an earlier run in runDir and start again (without it, E_RUN_EXISTS). */
  overwrite?: boolean;
  /** Stop once this many steps are done in total (the run's own limit still applies). */
  stopAfter?: number;
  /** Show the progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Called after every step (tests, ablations). */
  onStep?: (record: StepRecord) => void;
  /** Warnings and notices (default: stderr). */
  log?: (message: string) => void;
  /** File writes (tests inject faults here). */
  io?: RunIo;
}

export interface TrainResult {
  runDir: string;
  records: StepRecord[];
  /** Why the loop ended. */
  stopped: 'done' | 'interrupted' | 'stop-after';
  /** The checkpoint the run continued from (resume), or null. */
  resumedFrom: string | null;
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
 * Ctrl-C / SIGTERM, and report.html at the end. Nothing in runDir is deleted
 * unless `overwrite`; a resumed run continues bit for bit from its newest
 * complete checkpoint.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config } = options;
  const runDir = options.runDir ?? config.output.dir;
  const io = options.io ?? nodeIo;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
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
  assertLengthsFit(config);

  const resumeFrom = options.resume ? resumePoint(runDir, log) : null;
  if (options.resume) mkdirSync(runDir, { recursive: true });
  else prepareNewRunDirectory(runDir, options.overwrite === true);
  replaceAtomically(io, join(runDir, RESOLVED_CONFIG), YAML.stringify(config));

  // prompts before models: a prompt set too small for one batch fails in seconds
  const tokenizer = await Tokenizer.fromDir(config.policy.path);
  const { prompts } = await loadRunPrompts(config, tokenizer, runDir);
  const total = plannedSteps(config, prompts.train.length);
  if (total === 0) {
    throw new RemaxError('E_INPUT', 'not enough prompts for one batch', {
      file: config.data.source,
      field: 'train.batch_size',
      value: `${prompts.train.length} prompts selected, batch_size ${config.train.batch_size}`,
      expected: `at least ${config.train.batch_size} prompts after filtering (see prompts.stats.json)`,
    });
  }

  const models = await loadRunModels(config, {
    withCritic: entry.needsCritic,
    tokenizer,
    ...(resumeFrom ? { policyFrom: join(resumeFrom, 'policy') } : {}),
  });

  let state: TrainerState = {
    step: 0,
    epoch: 0,
    cursor: 0,
    prompts_seen: 0,
    rng: Rng.fromSeed(config.seed).state(),
    algo: config.algo,
    elapsed_s: 0,
    consecutive_skips: 0,
  };
  let restored: Awaited<ReturnType<typeof readCheckpointState>> | null = null;
  if (resumeFrom) {
    restored = await readCheckpointState(resumeFrom);
    state = restored.state;
    if (state.algo !== config.algo) {
      models.dispose();
      throw new RemaxError('E_STATE', 'checkpoint was written by another algorithm', {
        file: resumeFrom,
        value: state.algo,
        expected: config.algo,
      });
    }
    if (models.critic)
      await loadParametersInto(models.critic.parameters(), join(resumeFrom, 'critic.safetensors'));
  }
  // what was logged after the checkpoint belongs to a continuation that is redone
  const records = options.resume ? cutMetrics(runDir, state.step, io, log) : [];
  if (options.resume) cutSamples(runDir, state.step, io, log);

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

  const stop = listenForStop((line) => process.stderr.write(line));
  const progress = new TrainProgress(
    total,
    state.step,
    options.progress ?? process.stderr.isTTY === true,
  );
  const ids = { bosId: models.tokenizer.bosId, eosId: models.tokenizer.eosId };
  let lastCheckpoint: string | null = resumeFrom;
  let stopped: TrainResult['stopped'] = 'done';
  const saveCheckpoint = async (rngState = rng.state()) => {
    lastCheckpoint = await writeCheckpoint(
      runDir,
      { ...state, rng: rngState },
      algorithm.getState(),
      async (dir) => {
        await savePolicyState(models.policy, dir, config);
        writePolicyExtras(io, dir, config, records, ids);
        if (models.critic)
          await saveParameters(models.critic.parameters(), join(dir, '..', 'critic.safetensors'));
      },
      {
        io,
        extraFiles: {
          'trainer_state.json': hfTrainerState(config, records, total, prompts.train.length),
        },
      },
    );
    for (const dir of pruneCheckpoints(runDir, config.output.save_total_limit, lastCheckpoint))
      log(`output.save_total_limit: removed ${dir}`);
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
        reward: finiteOrNull(headline.reward),
        greedy_reward: finiteOrNull(headline.greedy_reward),
        kl: finiteOrNull(headline.kl),
        response_length: finiteOrNull(headline.response_length),
        lr: finiteOrNull(headline.lr),
        // generated tokens (sampled + greedy rows) per second of generation
        tokens_per_s: genStats.lastSeconds > 0 ? genStats.lastTokens / genStats.lastSeconds : 0,
        seconds,
        peak_tensor_bytes: peakBytes,
        rss_bytes: process.memoryUsage().rss,
        algo: finiteMetrics(metrics),
      };
      appendMetrics(runDir, record, io);
      reporters.log(record);
      records.push(record);
      if (state.step % config.output.samples_every === 0)
        writeSamples(runDir, state.step, texts, lastScored, shape, io);
      progress.update(record);
      options.onStep?.(record);
      state = {
        ...state,
        consecutive_skips: countSkips(
          state.consecutive_skips,
          metrics,
          config.train.max_consecutive_skips,
          { step: state.step, lastCheckpoint },
        ),
      };

      const every = config.output.checkpoint_every;
      const last = state.step === total;
      const stopHere = options.stopAfter !== undefined && state.step >= options.stopAfter;
      const signalled = (await stop.poll()) !== null;
      if (signalled || stopHere || last || (every > 0 && state.step % every === 0))
        await saveCheckpoint();
      if (signalled) {
        log(`${stop.signal}: stopped after step ${state.step}; checkpoint ${lastCheckpoint}`);
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
    let finalDir: string | null = null;
    if (stopped === 'done') {
      finalDir = join(runDir, 'final');
      await saveFinalPolicy(models.policy, finalDir, config);
      writePolicyExtras(io, finalDir, config, records, ids);
      if (config.output.save_merged)
        writePolicyExtras(io, join(finalDir, MERGED_DIR), config, records, ids);
      if (config.output.report) await writeRunReport(runDir, config, records);
    }
    return { runDir, records, stopped, resumedFrom: resumeFrom, lastCheckpoint, finalDir };
  } finally {
    progress.stop();
    stop.dispose();
    await reporters.close();
    algorithm.dispose();
    models.dispose();
  }
}

/**
 * The checkpoint a resume continues from: the newest complete and valid one
 * (each newer one skipped is reported), or null to start again from step 0
 * with the saved config.
 */
function resumePoint(runDir: string, log: (m: string) => void): string | null {
  const { dir, skipped } = findResumePoint(runDir);
  for (const s of skipped) log(`resume: skipped ${s.dir}: ${s.reason.split('\n').join(' ')}`);
  if (dir === null) log(`resume: no complete checkpoint in ${runDir}; starting again from step 0`);
  else log(`resume: continuing from ${dir}`);
  return dir;
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
