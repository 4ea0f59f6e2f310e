import { z } from 'zod';
import { UsageError } from '../schemas/errors.js';

/** Parses CLI options with a schema; the first problem becomes a one-line UsageError. */
export function parseOptions<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? `${optionName(issue.path)}: ` : '';
  throw new UsageError(`${where}${issue.message}`);
}

/** Arguments that are not options, by the schema field that holds them. */
const ARGUMENTS: Record<string, string> = {
  manifests: 'manifest URL',
  classIds: 'class id',
  classId: 'class id',
  ids: 'entry id',
};

function optionName(path: PropertyKey[]): string {
  const first = String(path[0]);
  return ARGUMENTS[first] ?? `--${first.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
