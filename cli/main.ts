#!/usr/bin/env node
// The entry of the `colony` bin. It imports only modules without dependencies, so that signals
// are taken (and warnings filtered) before the commands load: that takes a second or two.
import { takeSignalsEarly } from './early-signals.js';
import { silenceSdkNodeVersionWarning, warnNeedlessRedisPasswordOnce } from './quiet-warnings.js';

takeSignalsEarly();
silenceSdkNodeVersionWarning();
warnNeedlessRedisPasswordOnce();
const { runCli } = await import('./run.js');
await runCli(process.argv.slice(2));
