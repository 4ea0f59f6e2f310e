import { z } from 'zod';
import { ClassId, DestUrl, StreamNameSchema } from './events.js';
import { StageName } from './stages.js';

/**
 * The options of each command, validated after commander parsed them. Messages say what was
 * expected and never name the option: the CLI puts `--option: ` in front of them.
 */

const manifestUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL');

/** A whole number above 0, as typed. */
const positiveInt = z
  .string()
  .regex(/^\d+$/, 'expected a whole number')
  .transform(Number)
  .pipe(z.number().int().positive('expected a number above 0'));

const port = z
  .string()
  .regex(/^\d+$/, 'expected a port number')
  .transform(Number)
  .pipe(z.number().int().min(0).max(65535, 'expected a port number up to 65535'));

const groupName = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,100}$/, 'a group name of 1 to 100 letters, digits and . _ : @ -');

/** `colony transfer <manifestUrl>... --dest <url> [--json]` */
export const TransferOptions = z.object({
  manifests: z.array(manifestUrl).min(1, 'name at least one manifest URL'),
  dest: DestUrl,
  json: z.boolean().default(false),
  sourceBase: z.string().optional(),
  concurrency: positiveInt.optional(),
  quiet: z.boolean().default(false),
  verbose: z.boolean().default(false),
});
export type TransferOptions = z.infer<typeof TransferOptions>;

/** `colony serve [--stages a,b] [--port N]` */
export const ServeOptions = z.object({
  stages: z.array(StageName).min(1, 'name at least one stage'),
  port: port.optional(),
});
export type ServeOptions = z.infer<typeof ServeOptions>;

/** `colony status [classId] [--json]` */
export const StatusOptions = z.object({
  classId: ClassId.optional(),
  json: z.boolean().default(false),
});
export type StatusOptions = z.infer<typeof StatusOptions>;

/** `colony dlq list | retry | purge` */
export const DlqOptions = z.object({
  ids: z.array(z.string().regex(/^\d+-\d+$/, 'expected a stream entry id such as 1700000000000-0')),
  all: z.boolean().default(false),
  limit: positiveInt.optional(),
  stream: StreamNameSchema.optional(),
  class: ClassId.optional(),
  json: z.boolean().default(false),
});
export type DlqOptions = z.infer<typeof DlqOptions>;

/** `colony scan (--catalog <file|url> | --discover <root>) [--dest <url>] [--json]` */
export const ScanOptions = z
  .object({
    catalog: z.string().min(1, 'name a catalog file or http(s) URL').optional(),
    discover: z.string().min(1, 'name an http(s):// listing or s3://bucket/prefix').optional(),
    dest: DestUrl,
    sourceBase: z.string().optional(),
    json: z.boolean().default(false),
  })
  .refine((o) => (o.catalog === undefined) !== (o.discover === undefined), {
    message: 'give exactly one of --catalog <file|url> or --discover <listing>',
    path: ['catalog'],
  });
export type ScanOptions = z.infer<typeof ScanOptions>;

/** `colony replay --stream <name> [--from <pos>] [--to <pos>] [--group <name>] [--json]` */
export const ReplayOptions = z.object({
  stream: StreamNameSchema,
  from: z.string().optional(),
  to: z.string().optional(),
  group: groupName.optional(),
  dest: DestUrl.optional(),
  json: z.boolean().default(false),
});
export type ReplayOptions = z.infer<typeof ReplayOptions>;

/** `colony reconcile [classId...] [--repair] [--wait <seconds>] [--json]` */
export const ReconcileOptions = z.object({
  classIds: z.array(ClassId),
  repair: z.boolean().default(false),
  wait: z
    .string()
    .regex(/^\d+$/, 'expected a number of seconds')
    .transform(Number)
    .pipe(z.number().int().min(1).max(86_400))
    .optional(),
  dest: DestUrl.optional(),
  json: z.boolean().default(false),
});
export type ReconcileOptions = z.infer<typeof ReconcileOptions>;

/** `colony report [--format md|json|csv] [--group <name>] [--follow]` */
export const ReportOptions = z.object({
  format: z.enum(['md', 'json', 'csv'], { error: 'expected md, json or csv' }).default('md'),
  group: groupName.optional(),
  follow: z.boolean().default(false),
  interval: positiveInt.optional(),
});
export type ReportOptions = z.infer<typeof ReportOptions>;

/** `colony trim [--stream <name>] [--archive] [--dest <url>] [--dry-run] [--json]` */
export const TrimOptions = z.object({
  streams: z.array(StreamNameSchema).min(1),
  archive: z.boolean().default(false),
  dest: DestUrl.optional(),
  dryRun: z.boolean().default(false),
  json: z.boolean().default(false),
});
export type TrimOptions = z.infer<typeof TrimOptions>;
