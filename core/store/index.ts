import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createIntakeFlag } from './intake-flag';
import type { IntakeFlagPort, RunEventLog, RunRepository } from './ports';
import { createRunEventLog } from './run-event-log';
import { createRunRepository } from './run-repository';
import type { TableNames } from './tables';

export interface Store {
  runs: RunRepository;
  events: RunEventLog;
  intake: IntakeFlagPort;
}

/** The persistence layer over one set of tables (DynamoDB, or dynalite offline). */
export function createStore(doc: DynamoDBDocumentClient, names: TableNames): Store {
  return {
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    intake: createIntakeFlag(doc, names.control),
  };
}

export { RunAlreadyExistsError } from './run-repository';
