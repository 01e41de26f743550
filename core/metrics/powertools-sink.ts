import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, validateMetricRecord, type MetricRecord } from './catalog';
import type { MetricsSink } from './emf';

/**
 * The sink Lambda handlers use: Powertools Metrics in single-metric mode, so each record is written
 * at once with exactly the catalog's dimension sets. Powertools' default `service` dimension is
 * dropped on purpose: it would split every series by function and the org-wide series the alarms
 * read would stay empty.
 */
export function createPowertoolsSink(metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE })): MetricsSink {
  return {
    emit(record) {
      const dimensions = record.dimensions as Record<string, string>;
      const { definition } = validateMetricRecord({ name: record.name, value: record.value, dimensions });
      const single = metrics.singleMetric();
      single.clearDefaultDimensions();
      single.addDimensions({});
      for (const name of definition.dimensions) single.addDimensions({ [name]: dimensions[name] as string });
      single.addMetric((record as MetricRecord).name, definition.unit, record.value);
    },
  };
}
