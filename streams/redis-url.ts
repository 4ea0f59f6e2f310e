import { ConfigError } from '../schemas/errors.js';

/** One Redis node address. */
export type RedisNode = { host: string; port: number };

/** What a REDIS_URL names: one node, or the seed nodes of a cluster, and how to log in. */
export type RedisTarget = {
  seeds: RedisNode[];
  username?: string | undefined;
  password?: string | undefined;
  tls: boolean;
  db: number;
};

/**
 * Parses REDIS_URL: `redis://[user:pass@]host:port[/db]`, `rediss://` for TLS, or several seed
 * nodes of a cluster separated by commas, each a full URL or `host:port` taking the first one's
 * scheme and login (`redis://:secret@10.0.0.1:7000,10.0.0.2:7000`).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const parts = url
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new ConfigError('REDIS_URL: expected a redis:// URL, got nothing');
  const first = parseOne(parts[0]!);
  const seeds = [first.node];
  for (const part of parts.slice(1)) {
    seeds.push(
      /^rediss?:\/\//.test(part) ? parseOne(part).node : parseOne(`${first.scheme}//${part}`).node,
    );
  }
  return {
    seeds,
    username: first.username,
    password: first.password,
    tls: first.scheme === 'rediss:',
    db: first.db,
  };
}

function parseOne(s: string) {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(
      `REDIS_URL: expected redis://host:port, got ${JSON.stringify(redact(s))}`,
    );
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || !u.hostname)
    throw new ConfigError(
      `REDIS_URL: expected redis://host:port, got ${JSON.stringify(redact(s))}`,
    );
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  return {
    scheme: u.protocol,
    node: { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : 6379 },
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
  };
}

/** A REDIS_URL fit to print: passwords replaced by `***`. */
export function redact(url: string): string {
  return url.replace(/(rediss?:\/\/[^:@/,]*:)[^@/,]*@/g, '$1***@');
}
