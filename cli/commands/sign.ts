import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { Config } from '../../schemas/config.js';
import { UsageError } from '../../schemas/errors.js';
import { signWebhook } from '../../consumers/requests/webhook-signature.js';
import { prose, runWith, type RawOptions } from '../command-kit.js';

/** `colony sign`: its options and help, in one place. */
export function signCommand(): Command {
  return new Command('sign')
    .summary('signature header for a webhook request')
    .usage('(--body <json> | --file <path>) [options]')
    .description(
      prose(`
Prints the X-Colony-Signature header for a webhook body, signed with COLONY_WEBHOOK_SECRET (or
--secret) at the current time: what a studio's system sends with POST /hooks/class-completed.

  body='{"classId":"c-42","manifestUrl":"https://cdn.example.com/c-42/master.m3u8"}'
  curl -X POST http://127.0.0.1:8080/hooks/class-completed \\
    -H 'content-type: application/json' \\
    -H "X-Colony-Signature: $(colony sign --body "$body")" --data "$body"

The signature is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>; it is valid
for 5 minutes, and the body must be sent byte for byte as signed.`),
    )
    .option('--body <json>', 'the request body, as it will be sent')
    .option('--file <path>', 'read the body from this file')
    .option('--secret <s>', 'the secret (default COLONY_WEBHOOK_SECRET)')
    .allowExcessArguments(false)
    .action((raw: RawOptions) => runWith((config) => runSign(raw, config)));
}

async function runSign(raw: RawOptions, config: Config): Promise<number> {
  const body = raw.body as string | undefined;
  const file = raw.file as string | undefined;
  const secret = (raw.secret as string | undefined) ?? config.webhookSecret;
  if (!secret) throw new UsageError('no secret: set COLONY_WEBHOOK_SECRET or pass --secret');
  if ((body === undefined) === (file === undefined))
    throw new UsageError('give exactly one of --body or --file');
  process.stdout.write(signWebhook(secret, body ?? readBody(file!)) + '\n');
  return 0;
}

function readBody(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--file: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
}
