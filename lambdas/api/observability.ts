import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One structured JSON logger for the API; each request logs through a child carrying its request id and run id. */
export const apiLogger = new Logger({ serviceName: 'nightshift-api' });

/** EMF metrics in the Nightshift namespace, one instance per route (its dimension). */
export function routeMetrics(route: string): Metrics {
  return new Metrics({ namespace: 'Nightshift', serviceName: 'nightshift-api', defaultDimensions: { route } });
}
