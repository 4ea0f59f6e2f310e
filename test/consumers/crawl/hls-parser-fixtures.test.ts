import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { Parser } from 'm3u8-parser';
import { listReferences } from '../../../consumers/crawl/walk-class.js';

// m3u8-parser's own test fixtures: real-world and edge-case playlists its authors collected.
const require = createRequire(import.meta.url);
const FIXTURES = join(
  dirname(require.resolve('m3u8-parser/package.json')),
  'test',
  'fixtures',
  'integration',
);
const manifests = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.m3u8'))
  .sort();

/** Every URI string anywhere in m3u8-parser's output: `uri`, `URI` and `serverUri` properties. */
function parserUris(text: string): string[] {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    for (const [name, value] of Object.entries(node)) {
      if ((name === 'uri' || name === 'URI' || name === 'serverUri') && typeof value === 'string')
        out.push(value);
      else visit(value);
    }
  };
  visit(parser.manifest);
  return out;
}

test('m3u8-parser ships the fixtures this test relies on', () => {
  assert.ok(manifests.length >= 50, `found ${manifests.length} manifests in ${FIXTURES}`);
});

for (const name of manifests) {
  test(`listReferences loses no URI m3u8-parser finds in its fixture ${name}`, () => {
    // Prepare
    const text = readFileSync(join(FIXTURES, name), 'utf8');
    const base = `https://origin.example/library/${name}`;

    // Act
    const scan = listReferences(text, base);

    // Assess
    const ours = new Set(scan.references.map((r) => r.uri));
    for (const uri of parserUris(text)) {
      assert.ok(
        ours.has(uri.trim()),
        `${name}: m3u8-parser exposes ${uri}, listReferences does not`,
      );
    }
    for (const ref of scan.references) {
      assert.ok(ref.line >= 1 && ref.uri !== '', JSON.stringify(ref));
      assert.equal(ref.url, new URL(ref.uri, base).href);
    }
  });
}

test('listReferences finds more than m3u8-parser where m3u8-parser collapses or drops tags', () => {
  // Prepare: two renditions share NAME="English" in one group (m3u8-parser keeps the last), two
  // EXT-X-KEY lines apply to one segment (m3u8-parser files the FairPlay one under
  // contentProtection and keeps one key per segment), and a session key it ignores.
  const text = [
    '#EXTM3U',
    '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/session.key"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",URI="audio/en-stereo.m3u8"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",URI="audio/en-surround.m3u8"',
    '#EXT-X-STREAM-INF:BANDWIDTH=1000,AUDIO="aud"',
    'v0.m3u8',
    '',
  ].join('\n');

  // Act
  const ours = listReferences(text, 'https://origin.example/t/master.m3u8').references.map(
    (r) => r.uri,
  );
  const theirs = parserUris(text);

  // Assess
  assert.deepEqual(ours, [
    'keys/session.key',
    'audio/en-stereo.m3u8',
    'audio/en-surround.m3u8',
    'v0.m3u8',
  ]);
  for (const uri of theirs) assert.ok(ours.includes(uri));
  assert.ok(
    !theirs.includes('audio/en-stereo.m3u8'),
    'm3u8-parser collapses renditions sharing a NAME',
  );
  assert.ok(!theirs.includes('keys/session.key'), 'm3u8-parser ignores EXT-X-SESSION-KEY');
});
