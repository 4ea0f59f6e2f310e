import { randomBytes } from 'node:crypto';

/** A new W3C traceparent: one trace follows a class from its request to its outcome. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** The same trace, a new parent span: what a stage writes on the entries it derives. */
export function childTraceparent(parent: string | undefined): string {
  if (!parent) return newTraceparent();
  const [version, traceId, , flags] = parent.split('-');
  return `${version}-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}
