import { readFileSync } from 'node:fs';
import type { Config } from '../../schemas/config.js';
import { UsageError } from '../../schemas/errors.js';
import { signWebhook } from '../../consumers/requests/webhook-signature.js';
import { parseArgv } from '../args.js';

export const signHelp = `Usage: colony sign [--body <json> | --file <path>] [--secret <s>]

Prints the X-Colony-Signature header for a webhook body, signed with COLONY_WEBHOOK_SECRET (or
--secret) at the current time: what a studio's system sends with POST /hooks/class-completed.

  body='{"classId":"c-42","manifestUrl":"https://cdn.example.com/c-42/master.m3u8"}'
  curl -X POST http://127.0.0.1:8080/hooks/class-completed \\
    -H 'content-type: application/json' \\
    -H "X-Colony-Signature: $(colony sign --body "$body")" --data "$body"

The signature is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>; it is valid for
5 minutes, and the body must be sent byte for byte as signed.`;

export async function signCommand(args: string[], config: Config): Promise<number> {
  const { values } = parseArgv(
    args,
    { body: { type: 'string' }, file: { type: 'string' }, secret: { type: 'string' } },
    'sign',
  );
  const secret = values.secret ?? config.webhookSecret;
  if (!secret) throw new UsageError('no secret: set COLONY_WEBHOOK_SECRET or pass --secret');
  if ((values.body === undefined) === (values.file === undefined))
    throw new UsageError('give exactly one of --body or --file');
  const body = values.body ?? readFileSync(values.file!, 'utf8');
  process.stdout.write(signWebhook(secret, body) + '\n');
  return 0;
}
