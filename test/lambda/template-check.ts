import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { z } from 'zod';

/**
 * An offline check of lambda/template.yaml, run by the tests (and so by CI): the template is
 * parsed with CloudFormation's short-form tags, its shape checked against a schema of the
 * resource types it uses, and every reference resolved. Python's cfn-lint cannot be installed
 * here; this checks what a deploy would trip on first.
 */

/** Runtimes AWS lets a new function be created on (nodejs20.x: creation disabled 2026-06-01). */
export const CREATABLE_NODE_RUNTIMES = ['nodejs22.x', 'nodejs24.x'] as const;

type Intrinsic = { fn: string; arg: unknown };
const isIntrinsic = (v: unknown): v is Intrinsic =>
  typeof v === 'object' && v !== null && 'fn' in v && 'arg' in v;

const scalar = (tag: string, fn: string): ScalarTag => ({
  tag,
  resolve: (value: string) => ({ fn, arg: value }),
});
const seq = (tag: string, fn: string): CollectionTag => ({
  tag,
  collection: 'seq',
  resolve: (value) => ({ fn, arg: (value as YAMLSeq).toJSON() }) as unknown as YAMLSeq,
});
const map = (tag: string, fn: string): CollectionTag => ({
  tag,
  collection: 'map',
  resolve: (value) => ({ fn, arg: (value as YAMLMap).toJSON() }) as unknown as YAMLMap,
});
const TAGS = [
  scalar('!Ref', 'Ref'),
  scalar('!Sub', 'Fn::Sub'),
  scalar('!GetAtt', 'Fn::GetAtt'),
  seq('!Sub', 'Fn::Sub'),
  seq('!If', 'Fn::If'),
  seq('!Not', 'Fn::Not'),
  seq('!Equals', 'Fn::Equals'),
  seq('!And', 'Fn::And'),
  seq('!Or', 'Fn::Or'),
  seq('!Join', 'Fn::Join'),
  seq('!Select', 'Fn::Select'),
  map('!Condition', 'Condition'),
];

const num = z.union([z.number(), z.custom<Intrinsic>(isIntrinsic)]);
const Parameter = z
  .object({
    Type: z.enum(['String', 'Number', 'CommaDelimitedList']),
    Default: z.union([z.string(), z.number()]).optional(),
    MinValue: z.number().optional(),
    MaxValue: z.number().optional(),
    Description: z.string().optional(),
  })
  .strict()
  .refine(
    (p) =>
      p.Default === undefined ||
      p.Type !== 'Number' ||
      (typeof p.Default === 'number' &&
        (p.MinValue === undefined || p.Default >= p.MinValue) &&
        (p.MaxValue === undefined || p.Default <= p.MaxValue)),
    'a Number default within MinValue..MaxValue',
  );

const Function = z
  .object({
    Description: z.string().optional(),
    CodeUri: z.string().min(1),
    Handler: z.string().regex(/^[\w.-]+\.[\w$]+$/),
    Runtime: z.enum(CREATABLE_NODE_RUNTIMES),
    Architectures: z.array(z.enum(['arm64', 'x86_64'])).length(1),
    MemorySize: num,
    Timeout: num,
    ReservedConcurrentExecutions: num.optional(),
    EventInvokeConfig: z
      .object({ MaximumRetryAttempts: z.number().int().min(0).max(2) })
      .optional(),
    Policies: z.array(z.unknown()).optional(),
    Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }).optional(),
  })
  .strict();

const RESOURCE_PROPERTIES: Record<string, z.ZodType> = {
  'AWS::Serverless::Function': Function,
  'AWS::Logs::LogGroup': z
    .object({ LogGroupName: z.unknown(), RetentionInDays: num.optional() })
    .strict(),
  'AWS::IAM::ManagedPolicy': z
    .object({
      Description: z.string().optional(),
      PolicyDocument: z.object({
        Version: z.literal('2012-10-17'),
        Statement: z.array(z.object({ Effect: z.enum(['Allow', 'Deny']) }).loose()).min(1),
      }),
    })
    .strict(),
};

const Template = z
  .object({
    AWSTemplateFormatVersion: z.literal('2010-09-09'),
    Transform: z.literal('AWS::Serverless-2016-10-31'),
    Description: z.string().max(1024).optional(),
    Parameters: z.record(z.string(), Parameter),
    Conditions: z.record(z.string(), z.custom<Intrinsic>(isIntrinsic)).optional(),
    Resources: z.record(
      z.string(),
      z.object({ Type: z.string(), Properties: z.unknown() }).strict(),
    ),
    Outputs: z
      .record(
        z.string(),
        z.object({ Description: z.string().optional(), Value: z.unknown() }).strict(),
      )
      .optional(),
  })
  .strict();
export type Template = z.infer<typeof Template>;

const PSEUDO = [
  'AWS::Partition',
  'AWS::Region',
  'AWS::AccountId',
  'AWS::StackName',
  'AWS::NoValue',
  'AWS::URLSuffix',
];

/** Parses and checks a template; returns it and the problems found (none when it is fine). */
export function checkTemplate(text: string): { template?: Template; problems: string[] } {
  const problems: string[] = [];
  const parsed = Template.safeParse(parse(text, { customTags: TAGS }));
  if (!parsed.success)
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  const t = parsed.data;
  for (const [name, r] of Object.entries(t.Resources)) {
    const schema = RESOURCE_PROPERTIES[r.Type];
    if (!schema) {
      problems.push(`Resources.${name}: unknown type ${r.Type}`);
      continue;
    }
    const props = schema.safeParse(r.Properties);
    if (!props.success)
      for (const i of props.error.issues)
        problems.push(`Resources.${name}.Properties.${i.path.join('.')}: ${i.message}`);
  }
  const names = new Set([...Object.keys(t.Parameters), ...Object.keys(t.Resources), ...PSEUDO]);
  const walk = (v: unknown, at: string): void => {
    if (isIntrinsic(v)) {
      if (v.fn === 'Ref' && !names.has(String(v.arg)))
        problems.push(`${at}: !Ref ${String(v.arg)} names nothing`);
      if (v.fn === 'Fn::GetAtt' && !(String(v.arg).split('.')[0]! in t.Resources))
        problems.push(`${at}: !GetAtt ${String(v.arg)} names no resource`);
      if (v.fn === 'Fn::If') {
        const [cond] = v.arg as unknown[];
        if (!t.Conditions || !(String(cond) in t.Conditions))
          problems.push(`${at}: !If ${String(cond)} names no condition`);
      }
      if (v.fn === 'Fn::Sub') {
        const s = Array.isArray(v.arg) ? String(v.arg[0]) : String(v.arg);
        for (const m of s.matchAll(/\$\{([^}!]+)\}/g)) {
          const ref = m[1]!.split('.')[0]!;
          if (!names.has(ref)) problems.push(`${at}: !Sub \${${m[1]}} names nothing`);
        }
      }
      walk(v.arg, at);
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(t.Resources, 'Resources');
  walk(t.Conditions ?? {}, 'Conditions');
  walk(t.Outputs ?? {}, 'Outputs');
  return { template: t, problems };
}

/**
 * A property's value under the given parameter values (defaults otherwise): Ref, If, Not and
 * Equals are evaluated; `undefined` stands for AWS::NoValue (the property is left out).
 */
export function resolveValue(
  t: Template,
  value: unknown,
  params: Record<string, unknown> = {},
): unknown {
  const param = (name: string) => params[name] ?? t.Parameters[name]?.Default;
  const ev = (v: unknown): unknown => {
    if (!isIntrinsic(v)) return v;
    const args = v.arg as unknown[];
    switch (v.fn) {
      case 'Ref':
        return v.arg === 'AWS::NoValue' ? undefined : param(String(v.arg));
      case 'Fn::Equals':
        return String(ev(args[0])) === String(ev(args[1]));
      case 'Fn::Not':
        return !ev(args[0]);
      case 'Fn::If':
        return ev(t.Conditions?.[String(args[0])]) ? ev(args[1]) : ev(args[2]);
      default:
        return v;
    }
  };
  return ev(value);
}
