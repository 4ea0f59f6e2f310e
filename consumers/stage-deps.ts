import type { Config } from '../schemas/config.js';
import type { ClassStore } from '../streams/class-store.js';
import type { Keys } from '../streams/keys.js';
import type { Liveness } from '../streams/liveness.js';
import type { Logger } from '../streams/log.js';
import type { EventPublisher } from '../streams/publisher.js';

/** What a stage needs from the stream layer: publishing, class state, and settings. */
export type StageDeps = {
  config: Config;
  keys: Keys;
  publisher: EventPublisher;
  classes: ClassStore;
  liveness: Liveness;
  logger: Logger;
};
