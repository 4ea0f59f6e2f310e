import { z } from 'zod';

/** The stages of the pipeline, in stream order: each is one consumer group on one stream. */
export const STAGE_NAMES = ['crawler', 'transfer', 'aggregator'] as const;
export const StageName = z.enum(STAGE_NAMES, {
  error: `expected one of ${STAGE_NAMES.join(', ')}`,
});
export type StageName = z.infer<typeof StageName>;
