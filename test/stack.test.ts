import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { parse } from 'yaml';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COMPOSE = fileURLToPath(new URL('../docker-compose.yml', import.meta.url));
const hasCompose = !spawnSync('docker-compose', ['version']).error;
const SECRETS = {
  COLONY_WEBHOOK_SECRET: 'test-webhook-secret',
  COLONY_DASHBOARD_TOKEN: 'test-dashboard-token',
  MINIO_ROOT_PASSWORD: 'test-minio-password',
};
const bare = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !(k in SECRETS)),
) as NodeJS.ProcessEnv;

type Service = {
  command?: string[];
  user?: string;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
};

test(
  'docker-compose config accepts the stack, with every part the issue asks for',
  { skip: !hasCompose && process.env.CI !== 'true' },
  async () => {
    // Act
    const { stdout } = await run('docker-compose', ['-f', COMPOSE, 'config'], {
      cwd: ROOT,
      env: { ...bare, ...SECRETS },
    });
    const services = (parse(stdout) as { services: Record<string, Service> }).services;

    // Assess
    for (const name of [
      'redis',
      'minio',
      'otel-collector',
      'crawler',
      'transfer',
      'aggregator',
      'web',
    ])
      assert.ok(services[name], `service ${name}`);
    const redis = services.redis!.command!.join(' ');
    assert.match(redis, /--appendonly yes/);
    assert.match(redis, /--maxmemory-policy noeviction/);
    for (const name of ['crawler', 'transfer', 'aggregator', 'web']) {
      const s = services[name]!;
      assert.equal(s.user, 'node', `${name} runs as the unprivileged user`);
      assert.ok(s.healthcheck?.test.join(' ').includes('/healthz'), `${name} healthcheck`);
      assert.equal(s.environment?.COLONY_WEBHOOK_SECRET, SECRETS.COLONY_WEBHOOK_SECRET);
      assert.equal(s.command?.[0], 'serve');
    }
    assert.ok((services.transfer!.deploy?.replicas ?? 1) >= 2, 'transfer has replicas');
    assert.equal(services.web!.environment?.COLONY_DASHBOARD_TOKEN, SECRETS.COLONY_DASHBOARD_TOKEN);
    assert.doesNotMatch(await readFile(COMPOSE, 'utf8'), /change-me|colony-secret/);
  },
);

test(
  'without the secrets docker-compose refuses, naming the variable',
  { skip: !hasCompose && process.env.CI !== 'true' },
  async () => {
    // Act
    const refused = await run('docker-compose', ['-f', COMPOSE, 'config', '-q'], {
      cwd: ROOT,
      env: { ...bare, MINIO_ROOT_PASSWORD: 'x', COLONY_DASHBOARD_TOKEN: 'y' },
    }).then(
      () => undefined,
      (err: { stderr?: string }) => err,
    );

    // Assess
    assert.ok(refused, 'docker-compose config passed without COLONY_WEBHOOK_SECRET');
    assert.match(String(refused.stderr), /COLONY_WEBHOOK_SECRET/);
  },
);
