import {
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { describeError } from '../../schemas/errors.js';
import { CatalogError } from './scanner.js';

/** How much of a playlist is read to tell a master playlist from a media playlist. */
const SNIFF_BYTES = 64 * 1024;
const MASTER_TAG = /^#EXT-X-(STREAM-INF|I-FRAME-STREAM-INF|MEDIA):/m;

export type DiscoverOptions = {
  /** Folder levels followed below the root of an HTTP listing. */
  maxDepth?: number;
  /** Most listing pages and playlists fetched. */
  maxRequests?: number;
  timeoutMs?: number;
  /** For s3:// roots: endpoint, path style and credentials (the SDK's default chain otherwise). */
  s3?: {
    endpoint?: string | undefined;
    forcePathStyle?: boolean;
    credentials?: S3ClientConfig['credentials'];
  };
};

export type Discovery = {
  /** Master playlists found, in listing order. */
  masters: string[];
  /** Playlists and pages that could not be read, with the reason. */
  errors: { url: string; reason: string }[];
};

/**
 * Finds the master playlists below a root: an `s3://bucket/prefix` (ListObjectsV2, then the first
 * 64 KiB of each `.m3u8`) or an `http(s)://` directory listing (an index page such as nginx's or
 * Apache's autoindex: links followed to sub-folders below the root, on the same origin, up to
 * `maxDepth` levels). A playlist is a master when it names variants or renditions.
 */
export async function discoverMasters(root: string, o: DiscoverOptions = {}): Promise<Discovery> {
  if (/^s3:\/\//i.test(root)) return discoverS3(root, o);
  if (/^https?:\/\//i.test(root)) return discoverHttp(root, o);
  throw new CatalogError(
    `--discover: expected an http(s):// listing or s3://bucket/prefix, got ${JSON.stringify(root)}`,
  );
}

async function fetchText(url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { range: `bytes=0-${maxBytes - 1}` },
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const text = await res.text();
  return text.length > maxBytes ? text.slice(0, maxBytes) : text;
}

async function discoverHttp(root: string, o: DiscoverOptions): Promise<Discovery> {
  const start = new URL(root.endsWith('/') ? root : `${root}/`);
  const maxDepth = o.maxDepth ?? 5;
  let budget = o.maxRequests ?? 10_000;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const out: Discovery = { masters: [], errors: [] };
  const seen = new Set<string>([start.href]);
  const queue: { url: URL; depth: number }[] = [{ url: start, depth: 0 }];
  while (queue.length && budget > 0) {
    const { url, depth } = queue.shift()!;
    budget--;
    let page: string;
    try {
      page = await fetchText(url.href, timeoutMs, 16 * 1024 * 1024);
    } catch (err) {
      if (depth === 0)
        throw new CatalogError(`cannot read listing ${url.href}: ${describeError(err)}`);
      out.errors.push({ url: url.href, reason: describeError(err) });
      continue;
    }
    for (const m of page.matchAll(/href\s*=\s*["']([^"'#]+)["']/gi)) {
      let link: URL;
      try {
        link = new URL(m[1]!.replace(/&amp;/g, '&'), url);
      } catch {
        continue;
      }
      if (
        link.origin !== start.origin ||
        !link.pathname.startsWith(start.pathname) ||
        seen.has(link.href)
      )
        continue;
      seen.add(link.href);
      if (link.pathname.endsWith('/')) {
        if (depth < maxDepth) queue.push({ url: link, depth: depth + 1 });
      } else if (/\.m3u8$/i.test(link.pathname) && budget-- > 0) {
        try {
          if (MASTER_TAG.test(await fetchText(link.href, timeoutMs, SNIFF_BYTES)))
            out.masters.push(link.href);
        } catch (err) {
          out.errors.push({ url: link.href, reason: describeError(err) });
        }
      }
    }
  }
  return out;
}

async function discoverS3(root: string, o: DiscoverOptions): Promise<Discovery> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(root);
  if (!m?.[1]) throw new CatalogError(`--discover: ${root} names no bucket`);
  const bucket = m[1];
  const prefix = m[2] ?? '';
  const client = new S3Client({
    endpoint: o.s3?.endpoint,
    forcePathStyle: o.s3?.forcePathStyle ?? false,
    credentials: o.s3?.credentials,
    region: defaultRegion,
  });
  const out: Discovery = { masters: [], errors: [] };
  let budget = o.maxRequests ?? 10_000;
  try {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
      } catch (err) {
        throw new CatalogError(`cannot list ${root}: ${describeError(err)}`);
      }
      for (const obj of page.Contents ?? []) {
        if (!obj.Key || !/\.m3u8$/i.test(obj.Key) || budget-- <= 0) continue;
        const url = `s3://${bucket}/${obj.Key.split('/').map(encodeURIComponent).join('/')}`;
        try {
          const got = await client.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: obj.Key,
              Range: `bytes=0-${SNIFF_BYTES - 1}`,
            }),
          );
          if (MASTER_TAG.test((await got.Body?.transformToString()) ?? '')) out.masters.push(url);
        } catch (err) {
          out.errors.push({ url, reason: describeError(err) });
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && budget > 0);
  } finally {
    client.destroy();
  }
  return out;
}

/** The region of the SDK's default chain (AWS_REGION, the shared config), else us-east-1. */
async function defaultRegion(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}
