import * as z from 'zod';
import { METRICS_NAMESPACE, validateMetricRecord, type MetricName, type MetricRecord } from './catalog';

/**
 * CloudWatch Embedded Metric Format: the runner writes these lines to stdout (the awslogs driver ships
 * them to CloudWatch Logs, which extracts the metrics), and so do the Lambda handlers
 * (core/metrics/lambda-sink.ts). One line per record, like Powertools' single-metric mode, so records
 * with different dimension values never share a line.
 */

/** The EMF specification's shape (the part CloudWatch validates), used to check our own output in tests. */
export const EmfDocument = z
  .object({
    _aws: z
      .object({
        Timestamp: z.number().int().nonnegative(),
        CloudWatchMetrics: z
          .array(
            z.object({
              Namespace: z.string().min(1).max(255),
              Dimensions: z.array(z.array(z.string().min(1)).max(30)),
              Metrics: z
                .array(
                  z.object({ Name: z.string().min(1).max(255), Unit: z.string().optional(), StorageResolution: z.number().optional() }),
                )
                .min(1)
                .max(100),
            }),
          )
          .min(1),
      })
      .passthrough(),
  })
  .passthrough()
  .superRefine((doc, ctx) => {
    // Every metric and every dimension a directive names must be a member of the root object.
    const root = doc as Record<string, unknown>;
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        const value = root[metric.Name];
        const values = Array.isArray(value) ? value : [value];
        if (values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
          ctx.addIssue({ code: 'custom', path: [metric.Name], message: 'metric value must be a number or an array of numbers' });
        }
      }
      for (const set of directive.Dimensions) {
        for (const dimension of set) {
          if (typeof root[dimension] !== 'string')
            ctx.addIssue({ code: 'custom', path: [dimension], message: 'dimension value must be a string' });
        }
      }
    }
  });
export type EmfDocument = z.infer<typeof EmfDocument>;

/** Builds the EMF document of one record, validated against the catalog. Pure. */
export function emfDocument(record: MetricRecord, timestamp: Date, context: Record<string, string> = {}): Record<string, unknown> {
  const dimensions = record.dimensions as Record<string, string>;
  const { definition, dimensionSets } = validateMetricRecord({ name: record.name, value: record.value, dimensions });
  return {
    // Context (run id, request id) first, so a dimension or the metric value always wins a name clash.
    ...context,
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [
        { Namespace: METRICS_NAMESPACE, Dimensions: dimensionSets, Metrics: [{ Name: record.name, Unit: definition.unit }] },
      ],
    },
    ...dimensions,
    [record.name]: record.value,
  };
}

export function emfLine(record: MetricRecord, timestamp: Date, context: Record<string, string> = {}): string {
  return JSON.stringify(emfDocument(record, timestamp, context));
}

/**
 * Several metrics that share the same dimension values in one EMF line (the runner reports a model
 * call's tokens, cost and count together). Every name must take exactly `dimensions`. Pure.
 */
export function emfBatchLine(
  values: Partial<Record<MetricName, number>>,
  dimensions: Record<string, string>,
  timestamp: Date,
  context: Record<string, string> = {},
): string {
  const names = Object.keys(values) as MetricName[];
  if (names.length === 0) throw new Error('an EMF line needs at least one metric');
  let dimensionSets: string[][] | undefined;
  const metrics = names.map((name) => {
    const checked = validateMetricRecord({ name, value: values[name] as number, dimensions });
    dimensionSets ??= checked.dimensionSets;
    if (JSON.stringify(checked.dimensionSets) !== JSON.stringify(dimensionSets))
      throw new Error(`metric ${name} does not share the dimensions of ${names[0]}`);
    return { Name: name, Unit: checked.definition.unit };
  });
  return JSON.stringify({
    ...context,
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: dimensionSets, Metrics: metrics }],
    },
    ...dimensions,
    ...values,
  });
}

/** Where metrics go: EMF lines on stdout (the runner, core/metrics/lambda-sink.ts in a Lambda), or a list in tests. */
export interface MetricsSink {
  emit<N extends MetricName>(record: MetricRecord<N>): void;
}

export interface EmfWriterOptions {
  write?: (line: string) => void;
  now?: () => Date;
  /** High-cardinality context carried as plain properties (searchable in Logs Insights, never a dimension). */
  context?: Record<string, string>;
}

/** A sink writing one EMF line per record (default: stdout). */
export function createEmfWriter(options: EmfWriterOptions = {}): MetricsSink {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const context = options.context ?? {};
  return {
    emit(record) {
      write(emfLine(record as MetricRecord, now(), context));
    },
  };
}

/** Writes each record to the sink; validation errors surface to the caller (a wrong metric is a bug). */
export function emitAll(sink: MetricsSink, records: readonly MetricRecord[]): void {
  for (const record of records) sink.emit(record);
}
