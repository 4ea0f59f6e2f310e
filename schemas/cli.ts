import { z } from 'zod';
import { DestUrl } from './events.js';

const manifestUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, 'manifest URLs must be http:// or https:// URLs');

const positiveInt = (name: string) =>
  z
    .string()
    .regex(/^\d+$/, `--${name} expects a whole number`)
    .transform(Number)
    .pipe(z.number().int().positive(`--${name} expects a number above 0`));

/** `colony transfer <manifestUrl>... --dest <url> [--json]` */
export const TransferOptions = z.object({
  manifests: z.array(manifestUrl).min(1, 'name at least one manifest URL'),
  dest: DestUrl,
  json: z.boolean().default(false),
  sourceBase: z.string().optional(),
  concurrency: positiveInt('concurrency').optional(),
  quiet: z.boolean().default(false),
  verbose: z.boolean().default(false),
});
export type TransferOptions = z.infer<typeof TransferOptions>;

/** `colony serve [--stages a,b] [--port N]` */
export const ServeOptions = z.object({
  stages: z.array(z.enum(['crawler', 'transfer', 'aggregator'])).min(1),
  port: z
    .string()
    .regex(/^\d+$/, '--port expects a port number')
    .transform(Number)
    .pipe(z.number().int().min(0).max(65535, '--port expects a port number up to 65535'))
    .optional(),
});
export type ServeOptions = z.infer<typeof ServeOptions>;

/** `colony status [classId] [--json]` */
export const StatusOptions = z.object({
  classId: z.string().optional(),
  json: z.boolean().default(false),
});
export type StatusOptions = z.infer<typeof StatusOptions>;
