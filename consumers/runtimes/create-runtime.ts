import type { Config } from '../../schemas/config.js';
import type { Logger } from '../../streams/log.js';
import { LambdaRuntime } from './lambda-runtime.js';
import { LocalRuntime } from './local-runtime.js';
import type { TransferRuntime } from './runtime.js';

/**
 * The runtime COLONY_RUNTIME names: `local` (copies in this process) or `lambda` (batches
 * invoked on the function COLONY_LAMBDA_FUNCTION names).
 *
 * @throws ConfigError when the Lambda settings are missing or inconsistent.
 */
export function createRuntime(config: Config, logger?: Logger): TransferRuntime {
  return config.runtime === 'lambda'
    ? new LambdaRuntime(config, logger ? { logger } : {})
    : new LocalRuntime(config);
}
