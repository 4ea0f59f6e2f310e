/**
 * The AWS SDK warns on every start under Node 20 that its releases after January 2027 will need
 * Node 22. colony pins its SDK version, so the warning tells a user of `colony transfer` nothing
 * they can act on; every other process warning still prints.
 */
export function silenceSdkNodeVersionWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    if (typeof warning === 'string' && warning.startsWith('NodeVersionSupportWarning')) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

// ioredis's console.warn when AUTH is sent to a Redis without a password: once per connection.
const IOREDIS_NEEDLESS_PASSWORD =
  /^\[WARN\] .*does not require a password, but a password was supplied/;

/**
 * ioredis warns once per connection (and colony opens several) when REDIS_URL carries a password
 * that Redis does not ask for. One line of colony's says it once; other warnings pass unchanged.
 */
export function warnNeedlessRedisPasswordOnce(): void {
  const warn = console.warn.bind(console);
  let said = false;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && IOREDIS_NEEDLESS_PASSWORD.test(args[0])) {
      if (!said)
        process.stderr.write(
          'colony: warning: REDIS_URL has a password, but this Redis asks for none; it is not used\n',
        );
      said = true;
      return;
    }
    warn(...args);
  };
}
