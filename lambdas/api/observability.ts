import { Logger } from '@aws-lambda-powertools/logger';
import { createPowertoolsSink } from '../../core/metrics/powertools-sink';

/** One structured JSON logger for the API; each request logs through a child carrying its request id and run id. */
export const apiLogger = new Logger({ serviceName: 'nightshift-api' });

/** EMF metrics of the catalog (core/metrics/catalog.ts), written as each answer is made. */
export const apiMetrics = createPowertoolsSink();
