import type { PipelineStatus } from '../../schemas/dashboard.js';
import { formatCount, formatDuration } from './format.js';

/** Each stream shard with its length, its groups' lag and pending, and their consumers. */
export function PipelinePanel({ pipeline }: { pipeline: PipelineStatus | undefined }) {
  if (!pipeline) return <p class="muted">Loading the pipeline…</p>;
  return (
    <table class="pipeline">
      <thead>
        <tr>
          <th>stream</th>
          <th class="num">length</th>
          <th>group</th>
          <th class="num">lag</th>
          <th class="num">pending</th>
          <th>consumers</th>
        </tr>
      </thead>
      <tbody>
        {pipeline.streams.flatMap((s) => {
          const groups = s.groups.length ? s.groups : [undefined];
          return groups.map((g, i) => (
            <tr key={`${s.key}/${g?.name ?? ''}`} data-stream={s.stream} data-group={g?.name ?? ''}>
              {i === 0 ? (
                <>
                  <td rowSpan={groups.length} title={s.key}>
                    {s.stream}
                    {/\{(\d+)\}$/.exec(s.key)?.[1] !== '0' ? (
                      <span class="muted"> {s.key.slice(s.key.lastIndexOf('{'))}</span>
                    ) : null}
                  </td>
                  <td rowSpan={groups.length} class="num">
                    {formatCount(s.length)}
                  </td>
                </>
              ) : null}
              <td>{g?.name ?? <span class="muted">no group</span>}</td>
              <td class="num">{g ? (g.lag === null ? '?' : formatCount(g.lag)) : ''}</td>
              <td class="num">{g ? formatCount(g.pending) : ''}</td>
              <td class="consumers">
                {g?.consumers.map((c) => (
                  <span
                    key={c.name}
                    class={`consumer ${c.alive ? 'alive' : 'gone'}`}
                    title={`${c.name}\n${c.alive ? 'alive' : 'no heartbeat'} · idle ${formatDuration(c.idleMs)} · ${c.pending} pending`}
                  >
                    {c.alive ? '●' : '○'} {c.name.split('@')[0]}{' '}
                    <span class="muted">{formatDuration(c.idleMs)}</span>
                    {c.pending ? <span class="pending"> {c.pending}</span> : null}
                  </span>
                ))}
              </td>
            </tr>
          ));
        })}
      </tbody>
    </table>
  );
}
