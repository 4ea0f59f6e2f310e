import { CrawlError } from '../../schemas/errors.js';
import { redactQuery } from './source-key.js';
import type { Reference } from './references.js';

/**
 * The assets of an interstitial asset list (X-ASSET-LIST): JSON `{ "ASSETS": [ { "URI": ... } ] }`.
 * Each asset is a playlist, resolved against the list's final URL.
 */
export function assetListReferences(text: string, base: string): Reference[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CrawlError(`interstitial asset list ${redactQuery(base)} is not JSON`);
  }
  const assets = (doc as { ASSETS?: unknown } | null)?.ASSETS;
  if (!Array.isArray(assets))
    throw new CrawlError(`interstitial asset list ${redactQuery(base)} has no ASSETS array`);
  return assets.map((a: unknown, i) => {
    const uri = (a as { URI?: unknown } | null)?.URI;
    if (typeof uri !== 'string' || uri === '') {
      throw new CrawlError(`interstitial asset list ${redactQuery(base)}: asset ${i} has no URI`);
    }
    let url: string | undefined;
    try {
      url = new URL(uri, base).href;
    } catch {
      url = undefined;
    }
    return { role: 'interstitial-asset', tag: 'X-ASSET-LIST', line: i + 1, uri, url };
  });
}
