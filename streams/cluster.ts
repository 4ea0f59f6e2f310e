import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { describeError } from '../schemas/errors.js';
import { keySlot } from './key-slot.js';

/** What a blocking reader needs of its connection: XREADGROUP, and a reset for its watchdog. */
export interface BlockingConnection {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Drops the connection; with `reconnect`, the next call opens a fresh one. */
  disconnect(reconnect?: boolean): void;
}

type Queued = { name: string; args: unknown[] };

/** The key a queued pipeline command names first, which decides the node it must go to. */
function firstKey({ name, args }: Queued): string | undefined {
  const key = name === 'call' ? args[1] : name === 'eval' || name === 'evalsha' ? args[2] : args[0];
  return typeof key === 'string' ? key : undefined;
}

/**
 * ioredis Cluster, with pipelines that may name keys of any slot. ioredis sends a cluster
 * pipeline to one node and refuses keys served by others; colony pipelines XADDs to every shard
 * and one script call per class, so this pipeline queues the commands, sends one real pipeline
 * per group of nodes, and gives the replies back in order, as one pipeline would.
 */
export class ColonyCluster extends Cluster {
  override pipeline(commands?: unknown[][]): ChainableCommander {
    if (commands) return super.pipeline(commands);
    const queue: Queued[] = [];
    const exec = () => this.execSplit(queue);
    const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
      get: (_, name) => {
        if (name === 'exec') return exec;
        if (name === 'length') return queue.length;
        if (typeof name !== 'string' || name === 'then') return undefined;
        return (...args: unknown[]) => {
          queue.push({ name, args });
          return proxy;
        };
      },
    });
    return proxy;
  }

  /** The original, single-node pipeline: every key must be served by one group of nodes. */
  nodePipeline(): ChainableCommander {
    return super.pipeline();
  }

  /** The master that serves a key's slot, as `host:port`, from the slot map ioredis keeps. */
  masterOf(key: string): string | undefined {
    return this.slots[keySlot(key)]?.[0];
  }

  private async execSplit(queue: Queued[]): Promise<[Error | null, unknown][]> {
    const groups = new Map<string, number[]>();
    let keyless: number[] = [];
    queue.forEach((q, i) => {
      const key = firstKey(q);
      if (key === undefined) {
        keyless.push(i);
        return;
      }
      const slot = keySlot(key);
      const group = this.slots[slot]?.join(',') ?? `slot:${slot}`;
      const list = groups.get(group);
      if (list) list.push(i);
      else groups.set(group, [i]);
    });
    if (groups.size === 0) groups.set('any', keyless.splice(0));
    else [...groups.values()][0]!.push(...keyless.splice(0));
    keyless = [];
    const out = new Array<[Error | null, unknown]>(queue.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        indexes.sort((a, b) => a - b);
        const p = super.pipeline() as unknown as Record<string, (...a: unknown[]) => unknown>;
        for (const i of indexes) p[queue[i]!.name]!(...queue[i]!.args);
        const replies = ((await (p as unknown as ChainableCommander).exec()) ?? []) as [
          Error | null,
          unknown,
        ][];
        indexes.forEach((i, n) => {
          out[i] = replies[n] ?? [new Error('no reply'), null];
        });
      }),
    );
    return out;
  }
}

const REDIRECT = /^(MOVED|ASK) \d+ (\S+)/;

/**
 * The blocking connection of one shard reader on a Redis Cluster: a plain connection to the
 * master that serves the shard's slot, found in the cluster's slot map. After MOVED (a reshard,
 * a failover), a connection error or CLUSTERDOWN the slot map is refreshed and the next read
 * connects to the node that owns the slot then; after ASK (a slot being migrated) the read is
 * sent once to the importing node.
 */
export class ShardReader implements BlockingConnection {
  private conn: Redis | undefined;
  private node: string | undefined;
  /** The node a MOVED reply named, used until the slot map agrees. */
  private movedTo: string | undefined;

  constructor(
    private readonly cluster: ColonyCluster,
    private readonly key: string,
    private readonly options: RedisOptions,
  ) {}

  /** The node this reader reads from now, `host:port` (for tests and logs). */
  get address(): string | undefined {
    return this.node;
  }

  private connection(): Redis {
    const node = this.movedTo ?? this.cluster.masterOf(this.key);
    if (this.conn && node === this.node) return this.conn;
    this.drop();
    if (!node) throw new Error(`no node serves the slot of ${this.key} yet`);
    this.node = node;
    this.conn = open(node, this.options);
    return this.conn;
  }

  async call(command: string, ...args: (string | number)[]): Promise<unknown> {
    const conn = this.connection();
    try {
      const reply = await conn.call(command, ...args);
      if (this.movedTo && this.cluster.masterOf(this.key) === this.movedTo)
        this.movedTo = undefined;
      return reply;
    } catch (err) {
      const message = describeError(err);
      const redirect = REDIRECT.exec(message);
      if (redirect?.[1] === 'ASK') {
        const importing = open(redirect[2]!, this.options);
        try {
          await importing.call('ASKING');
          return await importing.call(command, ...args);
        } finally {
          importing.disconnect();
        }
      }
      if (redirect) this.movedTo = redirect[2];
      else this.movedTo = undefined;
      // Any other failure may be a failover under way: ask the cluster again where the slot is.
      this.drop();
      this.cluster.refreshSlotsCache();
      throw err;
    }
  }

  disconnect(): void {
    this.drop();
  }

  private drop(): void {
    this.conn?.disconnect();
    this.conn = undefined;
    this.node = undefined;
  }
}

function open(node: string, options: RedisOptions): Redis {
  const colon = node.lastIndexOf(':');
  const redis = new Redis({
    ...options,
    host: node.slice(0, colon),
    port: Number(node.slice(colon + 1)),
    lazyConnect: false,
  });
  redis.on('error', () => {});
  return redis;
}
