import { HttpSource } from '../copy/sources/http-source.js';
import type { ClassState } from '../schemas/class-state.js';
import { DryRunDocument, jsonDocument, type DryRunClass } from '../schemas/cli-output.js';
import type { Config } from '../schemas/config.js';
import { describeError } from '../schemas/errors.js';
import { redactQuery } from '../consumers/crawl/source-key.js';
import { walkClass } from '../consumers/crawl/walk-class.js';
import { plural } from './command-kit.js';

/** One class of a dry run: what it is, and its state from an earlier run if it has one. */
export type DryRunInput = {
  classId: string;
  manifestUrl: string;
  state: ClassState | undefined;
};

/**
 * `colony transfer --dry-run`: crawls each class as the crawler would and lists what would be
 * copied, without enqueuing, copying or writing anything (Redis and the destination are only
 * read). A class transferred already would copy nothing. Lines `<dest key>\t<source URL>` on
 * stdout (or the JSON document), one summary line per class on stderr.
 *
 * @returns the exit status: 0 when every class could be crawled, 1 otherwise.
 */
export async function dryRun(
  inputs: readonly DryRunInput[],
  o: { dest: string; sourceBase: string | undefined; json: boolean; config: Config },
): Promise<number> {
  const { config } = o;
  const source = new HttpSource({
    timeoutMs: config.copyTimeoutMs,
    allowedOrigins: config.allowedOrigins,
  });
  const classes: DryRunClass[] = [];
  try {
    for (const c of inputs) {
      const head = { classId: c.classId, manifestUrl: c.manifestUrl, dest: o.dest };
      if (c.state?.status === 'transferred') {
        classes.push({ ...head, action: 'transferred', files: [] });
        continue;
      }
      try {
        const walk = await walkClass(c.manifestUrl, {
          fetchText: (url) =>
            source.fetchText(url, {
              maxBytes: config.maxPlaylistBytes,
              timeoutMs: config.copyTimeoutMs,
            }),
          allowedOrigins: config.allowedOrigins,
          sourceBase: o.sourceBase,
          maxPlaylistBytes: config.maxPlaylistBytes,
          allowLive: config.allowLive,
        });
        classes.push({
          ...head,
          action: 'copy',
          files: walk.files.map((f) => ({ key: f.key, url: redactQuery(f.url), kind: f.kind })),
        });
      } catch (err) {
        classes.push({ ...head, action: 'fail', reason: describeError(err), files: [] });
      }
    }
  } finally {
    await source.close().catch(() => {});
  }
  if (o.json) process.stdout.write(jsonDocument(DryRunDocument, { dryRun: true, classes }) + '\n');
  else
    for (const c of classes) for (const f of c.files) process.stdout.write(`${f.key}\t${f.url}\n`);
  for (const c of classes) process.stderr.write(summaryLine(c) + '\n');
  return classes.every((c) => c.action !== 'fail') ? 0 : 1;
}

function summaryLine(c: DryRunClass): string {
  if (c.action === 'transferred')
    return `${c.classId}: transferred already, would copy nothing (${c.manifestUrl})`;
  if (c.action === 'fail') return `${c.classId}: would fail: ${c.reason}`;
  return `${c.classId}: would copy ${plural(c.files.length, 'file')} to ${c.dest} (dry run: nothing copied)`;
}
