import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { registerClusterMetrics } from '../../dashboard/server/cluster-metrics.js';
import { collectProcessMetrics, metricsRegistry } from '../../streams/metrics.js';

type Panel = { id: number; title: string; targets?: { expr: string }[] };

test('the Grafana dashboard parses and queries only metrics colony exports', async () => {
  // Prepare
  const text = readFileSync(
    new URL('../../dashboard/grafana/colony.json', import.meta.url),
    'utf8',
  );
  registerClusterMetrics();
  collectProcessMetrics();
  const exported = new Set((await metricsRegistry.getMetricsAsJSON()).map((m) => m.name));

  // Act
  const dashboard = JSON.parse(text) as { title: string; uid: string; panels: Panel[] };
  const queried = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).flatMap((t) =>
      [...t.expr.matchAll(/\b((?:colony|process)_[a-z_]+)/g)].map((m) => m[1]!),
    ),
  );

  // Assess
  assert.equal(dashboard.uid, 'colony-overview');
  assert.equal(
    new Set(dashboard.panels.map((p) => p.id)).size,
    dashboard.panels.length,
    'unique panel ids',
  );
  assert.ok(
    dashboard.panels.every((p) => (p.targets ?? []).length > 0),
    'every panel queries something',
  );
  const unknown = queried
    .map((n) => n.replace(/_(bucket|sum|count)$/, ''))
    .filter((n) => !exported.has(n));
  assert.deepEqual(unknown, []);
  for (const name of [
    'colony_files_total',
    'colony_group_lag',
    'colony_copy_duration_seconds',
    'colony_lambda_throttles_total',
  ])
    assert.ok(
      queried.some((q) => q.startsWith(name)),
      `${name} is on the dashboard`,
    );
});
