import { optimizerFields } from '@remax/core';
import { z } from 'zod';
import { snakeCaseObject } from './snakeSchema.js';

/** @remax/core's optimizer settings: the one source of every optimizer default. */
export const optimizerSchema = z.strictObject(optimizerFields);

/**
 * The YAML `optim:` section: core's fields under snake_case keys. totalSteps
 * is not a setting: the trainer counts the run's steps.
 */
export const optimSection = snakeCaseObject(optimizerSchema, { totalSteps: true }, 'optim');
