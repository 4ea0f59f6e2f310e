import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The README's "Layout" section as a check: which top-level folder may import which, and no
// import circles anywhere (type-only imports included: a circle of types is still a file doing
// two jobs).
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What each source folder may import from the others. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  schemas: [],
  copy: ['schemas'],
  streams: ['schemas', 'copy'],
  consumers: ['schemas', 'streams', 'copy'],
  lambda: ['schemas', 'copy'],
  dashboard: ['schemas', 'streams', 'consumers', 'copy'],
  cli: ['schemas', 'streams', 'consumers', 'copy', 'dashboard'],
  bench: ['schemas', 'streams', 'consumers', 'copy', 'lambda', 'cli'],
};

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures') continue;
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)];
  // `./x.js` names x.ts or, in the dashboard's front end, x.tsx.
  return specs
    .map((m) => resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts'))
    .filter((p) => p.endsWith('.ts'))
    .map((p) => (existsSync(p) || !existsSync(`${p}x`) ? p : `${p}x`));
}

const folders = Object.keys(MAY_IMPORT).filter((f) => {
  try {
    return statSync(join(ROOT, f)).isDirectory();
  } catch {
    return false;
  }
});
const graph = new Map<string, string[]>();
for (const folder of folders)
  for (const file of sourceFiles(join(ROOT, folder))) graph.set(file, importsOf(file));

const rel = (p: string) => relative(ROOT, p);

test('each folder imports only what the layout allows', () => {
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    const from = rel(file).split('/')[0]!;
    for (const dep of deps) {
      const to = rel(dep).split('/')[0]!;
      if (to !== from && !MAY_IMPORT[from]!.includes(to)) wrong.push(`${rel(file)} -> ${rel(dep)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('no import circles', () => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 'open') {
        circles.push(stack.slice(stack.indexOf(dep)).concat(dep).map(rel).join(' -> '));
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  assert.deepEqual(circles, []);
});
