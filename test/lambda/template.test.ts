import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CREATABLE_NODE_RUNTIMES, checkTemplate, resolveValue } from './template-check.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = () => readFile(path.join(ROOT, 'lambda', 'template.yaml'), 'utf8');

test('lambda/template.yaml passes the offline template check', async () => {
  // Act
  const { template, problems } = checkTemplate(await read());

  // Assess
  assert.deepEqual(problems, []);
  const fn = template!.Resources.CopyFunction!.Properties as Record<string, unknown>;
  assert.ok((CREATABLE_NODE_RUNTIMES as readonly string[]).includes(String(fn.Runtime)));
  assert.equal(fn.Handler, 'index.handler');
  assert.equal(fn.CodeUri, 'dist/colony-lambda.zip');
});

test('with default parameters the function reserves no concurrency, so a new account takes it', async () => {
  // Prepare: Lambda keeps 100 of an account's concurrency unreserved; a new account may have 10.
  const { template } = checkTemplate(await read());
  const fn = template!.Resources.CopyFunction!.Properties as Record<string, unknown>;

  // Act
  const byDefault = resolveValue(template!, fn.ReservedConcurrentExecutions);
  const asked = resolveValue(template!, fn.ReservedConcurrentExecutions, {
    ReservedConcurrency: 200,
  });

  // Assess
  assert.equal(byDefault, undefined);
  assert.equal(asked, 200);
});

test('the check catches what a deploy would trip on', async () => {
  // Prepare: the template as it was, and other mistakes.
  const text = await read();
  const broken = [
    text.replace(/Runtime: nodejs\d+\.x/, 'Runtime: nodejs20.x'),
    text.replace('!Ref SourceBucket', '!Ref SourceBuckett'),
    text.replace("'${DestinationPrefix}*'", "'${DestPrefix}*'"),
    text.replace('!GetAtt CopyFunction.Arn', '!GetAtt CopyFunctionn.Arn'),
    text.replace(/Default: 0\n(\s+)MinValue: 0/, 'Default: -1\n$1MinValue: 0'),
    text.replace('Type: AWS::Logs::LogGroup', 'Type: AWS::Logs::LogGrup'),
  ];

  // Act
  const problems = broken.map((t) => checkTemplate(t).problems);

  // Assess
  for (const [i, p] of problems.entries()) assert.ok(p.length > 0, `mistake ${i} not caught`);
  assert.match(problems[0]!.join(), /Runtime/);
  assert.match(problems[1]!.join(), /SourceBuckett names nothing/);
  assert.match(problems[2]!.join(), /DestPrefix/);
});
