import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles the dashboard (dashboard/app, preact + TypeScript) into dist/dashboard/public, the
 * files `colony serve` ships: index.html, app.js, app.css. Run by `npm run build:dashboard`
 * (and by `npm test`, `npm run demo`, `npm run build`).
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, 'dist', 'dashboard', 'public');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'app', 'main.tsx') },
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});
for (const file of ['index.html', 'favicon.svg'])
  await copyFile(join(here, 'app', file), join(out, file));
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.map'))
    process.stdout.write(
      `${relative(root, join(root, file))}  ${(info.bytes / 1024).toFixed(1)} KiB\n`,
    );
}
