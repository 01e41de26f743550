import { validateMetricRecord, type MetricRecord } from './catalog';
import { createEmfWriter, type MetricsSink } from './emf';

/**
 * The sink Lambda handlers use: one EMF line per record on stdout (CloudWatch Logs extracts the
 * metrics), with exactly the catalog's dimension sets and no `service` dimension, which would split
 * every series by function and leave the org-wide series the alarms read empty. It writes what
 * Powertools Metrics wrote in single-metric mode, which it replaced for bundle size (issue 14: 12 KB
 * of every handler). POWERTOOLS_METRICS_DISABLED=true (local mode, the tests) writes nothing, but a
 * record the catalog refuses still throws (a wrong metric is a bug).
 */
export function createLambdaMetricsSink(env: NodeJS.ProcessEnv = process.env): MetricsSink {
  if (['true', '1'].includes(env.POWERTOOLS_METRICS_DISABLED?.trim().toLowerCase() ?? '')) {
    return {
      emit(record) {
        const { name, value, dimensions } = record as MetricRecord;
        validateMetricRecord({ name, value, dimensions: dimensions as Record<string, string> });
      },
    };
  }
  return createEmfWriter();
}
