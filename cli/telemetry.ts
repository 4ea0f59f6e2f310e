import { describeError } from '../schemas/errors.js';

/** Flushes the spans still buffered and stops tracing; never rejects. */
export type StopTelemetry = () => Promise<void>;

/** Any of these set turns tracing on: the standard OpenTelemetry variables, nothing of colony's. */
const TRIGGERS = [
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
] as const;

/**
 * Starts the OpenTelemetry Node SDK when the environment asks for traces, and does nothing (and
 * loads nothing) otherwise, so that a run without collector pays no start-up cost. The service is
 * `colony` unless OTEL_SERVICE_NAME says otherwise. No auto-instrumentation: colony's spans are
 * the consumer-group spans of streams/group-runner.ts. With no exporter named, spans go over
 * OTLP/HTTP to OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; OTEL_TRACES_EXPORTER (otlp, console, zipkin)
 * and the OTLP protocol, header and sampler variables are read by the SDK as usual.
 */
export async function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<StopTelemetry> {
  const named = env.OTEL_TRACES_EXPORTER?.trim();
  if (!TRIGGERS.some((name) => env[name]?.trim()) || named === 'none') return async () => {};
  const { NodeSDK, resources } = await import('@opentelemetry/sdk-node');
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const traceExporter =
    named || protocol
      ? undefined
      : new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'colony',
    instrumentations: [],
    // Not the SDK's process detector: it records the command line, and with it signed manifest URLs.
    resourceDetectors: [resources.envDetector, resources.hostDetector],
    resource: resources.defaultResource().merge(
      resources.resourceFromAttributes({
        'process.pid': process.pid,
        'process.runtime.name': 'nodejs',
        'process.runtime.version': process.versions.node,
      }),
    ),
    ...(traceExporter ? { traceExporter } : {}),
  });
  sdk.start();
  return async () => {
    await sdk.shutdown().catch((err: unknown) => {
      process.stderr.write(`colony: could not flush traces: ${describeError(err)}\n`);
    });
  };
}
