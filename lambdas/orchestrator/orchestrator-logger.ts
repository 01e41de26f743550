import { createLogger } from '../../core/observability/logger';

/**
 * One structured JSON logger for the state machine's Lambda tasks; every line carries the run id. A
 * module of its own so that TaskStopped, which reads no table, does not load the DynamoDB and SNS
 * clients of lambdas/orchestrator/deps.ts at init.
 */
export const orchestratorLogger = createLogger({ serviceName: 'nightshift-orchestrator' });
