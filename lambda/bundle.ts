/**
 * Bundles the copy handler for the Lambda Node.js 22 runtime (`nodejs22.x`; colony itself runs on
 * Node 20+, the function on the runtime AWS still creates functions on): `npm run bundle:lambda` writes
 * lambda/dist/index.mjs and lambda/dist/colony-lambda.zip (index.mjs at the root of the zip,
 * exporting `handler`, so the function's handler setting is `index.handler`).
 *
 * Everything is bundled, the AWS SDK included: the SDK the runtime ships is whatever version
 * AWS last put there, and the copy code depends on a recent one (requestChecksumCalculation,
 * without which uploads to S3-compatible stores go aws-chunked). A pinned, tested SDK costs a
 * few MB of zip and a little cold-start time, and makes the function behave as the tests do.
 *
 * Run from the repository root with tsx (the npm script does).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = path.join(ROOT, 'lambda', 'dist');
export const BUNDLE_FILE = path.join(OUT_DIR, 'index.mjs');
export const ZIP_FILE = path.join(OUT_DIR, 'colony-lambda.zip');

// A fixed date keeps the zip byte-identical for identical code (zip dates start at 1980).
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/** Builds the bundle and the zip; returns their paths and the zip's size. */
export async function bundleLambda(): Promise<{ bundle: string; zip: string; zipBytes: number }> {
  await mkdir(OUT_DIR, { recursive: true });
  const result = await build({
    entryPoints: [path.join(ROOT, 'lambda', 'handler.ts')],
    outfile: BUNDLE_FILE,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
    // The SDK and its dependencies are CommonJS: inside an ES module they need a `require`.
    banner: {
      js: "import { createRequire as __colonyCreateRequire } from 'node:module'; const require = __colonyCreateRequire(import.meta.url);",
    },
  });
  const code = result.outputFiles[0]!.contents;
  await writeFile(BUNDLE_FILE, code);
  const zip = zipSync(
    // Unix mode 0644: the Lambda runtime user must be able to read the file.
    { 'index.mjs': [code, { level: 9, mtime: ZIP_MTIME, os: 3, attrs: (0o100644 << 16) >>> 0 }] },
  );
  await writeFile(ZIP_FILE, zip);
  return { bundle: BUNDLE_FILE, zip: ZIP_FILE, zipBytes: zip.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { zip, zipBytes } = await bundleLambda();
  process.stdout.write(
    `${path.relative(process.cwd(), zip)}: ${(zipBytes / 1024 / 1024).toFixed(2)} MiB\n`,
  );
}
