import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/hls: real ffmpeg output, served at the origin path /hls/. */
export const HLS_ROOT = fileURLToPath(new URL('../fixtures/hls/', import.meta.url));

export type ExpectedFixture = { manifest: string; files: string[] };

/** Every fixture with its entry playlist and the exact list of files a complete copy needs. */
export function expectedFixtures(): Record<string, ExpectedFixture> {
  return JSON.parse(readFileSync(join(HLS_ROOT, 'expected.json'), 'utf8')) as Record<
    string,
    ExpectedFixture
  >;
}
