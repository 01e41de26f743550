import { createLogger } from '../../core/observability/logger';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';

/** One structured JSON logger for the API; each request logs through a child carrying its request id and run id. */
export const apiLogger = createLogger({ serviceName: 'nightshift-api' });

/** EMF metrics of the catalog (core/metrics/catalog.ts), written as each answer is made. */
export const apiMetrics = createLambdaMetricsSink();
