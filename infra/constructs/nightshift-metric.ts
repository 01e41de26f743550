import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, metricCatalog, type DimensionsOf, type MetricName } from '../../core/metrics/catalog';

/** A metric of the catalog (only catalog names type-check), org-wide unless dimensions are given. */
export function nightshiftMetric<N extends MetricName>(
  name: N,
  options: { dimensions?: Partial<DimensionsOf<N>>; period?: Duration; statistic?: string; label?: string } = {},
): cloudwatch.Metric {
  const definition = metricCatalog[name];
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    statistic: options.statistic ?? definition.statistic,
    period: options.period ?? Duration.minutes(5),
    ...(options.dimensions ? { dimensionsMap: options.dimensions as Record<string, string> } : {}),
    ...(options.label ? { label: options.label } : {}),
  });
}
