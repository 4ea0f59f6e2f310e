import { Command } from 'commander';
import type { Config } from '../../schemas/config.js';
import { destUrl, prose, runWith, type RawOptions } from '../command-kit.js';
import { runDoctor } from '../doctor.js';

/** `colony doctor`: its options and help, in one place. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .summary('check Redis, the destination and the runtime; say what to change')
    .usage('[options]')
    .description(
      prose(`
Checks what colony runs on and says, for each problem, the setting to change: Redis (version
6.2+, maxmemory-policy noeviction, persistence and its AOF fsync policy, on every node of a
cluster; the cluster's masters, replicas and slots, and which master serves each stream shard),
memory headroom for the classes queued and in flight, the destination (reachable, and a small
object written under _colony/doctor/), and the Lambda function (an Invoke with InvocationType
DryRun) when COLONY_RUNTIME=lambda. It writes nothing to Redis.`),
    )
    .option('--dest <url>', 'the destination to check (default COLONY_DEST)')
    .option('--json', 'print {"ok", "findings": [{level, check, message, setting}], "redis"}')
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      `
Exit status: 0 when every check is ok, 1 when one warns or fails.`,
    )
    .action((raw: RawOptions) => runWith((config) => runDoctorCommand(raw, config)));
}

async function runDoctorCommand(raw: RawOptions, config: Config): Promise<number> {
  const report = await runDoctor(config, { dest: destUrl(raw.dest as string | undefined) });
  if (raw.json === true) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return report.ok ? 0 : 1;
  }
  const lines = report.findings.map(
    (f) =>
      `${f.level.padEnd(5)} ${f.check.padEnd(11)} ${f.message}${f.setting ? `\n${' '.repeat(18)}-> set ${f.setting}` : ''}`,
  );
  const masters = report.redis?.masters;
  if (masters) {
    lines.push('cluster layout:');
    for (const m of masters)
      lines.push(
        `  ${m.address}  ${m.slots} slots  replicas: ${m.replicas.join(', ') || 'none'}  shards: ${m.shards.length}`,
      );
  }
  const counts = (level: string) => report.findings.filter((f) => f.level === level).length;
  lines.push(
    report.ok
      ? 'all is well'
      : `${counts('error')} problems, ${counts('warn')} warnings: change the settings named above`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  return report.ok ? 0 : 1;
}
