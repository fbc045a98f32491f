import { join } from 'node:path';
import type { RunConfig } from '../../config/schema.js';
import { eventFiles, TENSORBOARD_DIR } from './tensorboard.js';

/** Lines `report` prints after report.html: where the TensorBoard files are and how to open (and upload) them. */
export function reporterHints(runDir: string, config: RunConfig): string[] {
  const dir = join(runDir, TENSORBOARD_DIR);
  const files = eventFiles(dir);
  if (files.length === 0) {
    return ['tensorboard: no event files (add tensorboard to output.report_to to write them)'];
  }
  const lines = [
    `tensorboard: ${dir} (${files.length} event file${files.length === 1 ? '' : 's'})`,
    `  open: tensorboard --logdir ${JSON.stringify(dir)}   (then http://localhost:6006)`,
  ];
  const { wandb } = config.output;
  if (config.output.report_to.includes('wandb') && wandb.mode === 'offline') {
    const entity = wandb.entity ? ` -e ${wandb.entity}` : '';
    lines.push(
      `  W&B upload: wandb sync --sync-tensorboard -p ${wandb.project}${entity} ${JSON.stringify(dir)}`,
    );
  }
  return lines;
}
