import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// `npm ci` (npm 11) skips dependencies' install scripts unless package.json's allowScripts says
// otherwise, and ends with a warning for each one it has no entry for. Every package with an
// install script must have its entry, so that an install stays quiet and someone decided.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

function packagesWithInstallScripts(dir: string, found = new Set<string>()): Set<string> {
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      packagesWithInstallScripts(join(dir, name), found);
      continue;
    }
    const manifest = join(dir, name, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        name?: string;
        scripts?: Record<string, string>;
      };
      if (pkg.name && INSTALL_SCRIPTS.some((s) => pkg.scripts?.[s])) found.add(pkg.name);
    }
    packagesWithInstallScripts(join(dir, name, 'node_modules'), found);
  }
  return found;
}

test('every dependency with an install script has an allowScripts entry', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  const covered = new Set(
    Object.keys(pkg.allowScripts ?? {}).map((k) => k.replace(/(.)@.*$/, '$1')),
  );
  const missing = [...packagesWithInstallScripts(join(ROOT, 'node_modules'))].filter(
    (name) => !covered.has(name),
  );
  assert.deepEqual(missing, []);
});
