import './quiet-powertools';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  SFNClient,
  StartExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { NightshiftConfig } from '../../core/config/schema';
import { createIdempotencyRecords } from '../../adapters/dynamodb/idempotency-records';
import { IDEMPOTENCY_KEY_TTL_SECONDS, type SubmitApiDeps } from '../../lambdas/api/idempotency';
import type { ApiEvent, ApiResult } from '../../lambdas/api/http';
import { stepFunctionsExecutions } from '../../lambdas/api/step-functions';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { apiFixture, testConfig } from '../support/test-config';

export const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:nightshift-runs';

const mockSfn = () => mockClient(SFNClient);

export interface ApiHarness {
  db: DynaliteHarness;
  deps: SubmitApiDeps;
  sfn: ReturnType<typeof mockSfn>;
  stop(): Promise<void>;
}

/** dynalite with the real store, the real Step Functions adapter over a mocked SFN client, and the Idempotency-Key records on dynalite. */
export async function startApi(config: NightshiftConfig = testConfig(apiFixture)): Promise<ApiHarness> {
  const db = await startDynalite();
  const sfn = mockSfn();
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date(),
  }));
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  const executions = stepFunctionsExecutions(new SFNClient({ region: 'us-east-1' }), stateMachineArn);
  const deps: SubmitApiDeps = {
    config,
    ...db.store,
    startExecution: executions.startExecution,
    stopExecution: executions.stopExecution,
    sendTaskSuccess: executions.sendTaskSuccess,
    sendTaskFailure: executions.sendTaskFailure,
    stopRunTasks: (runId) => executions.stopExecution(runId, 'run finalized by the API'),
    idempotencyRecords: createIdempotencyRecords(db.doc, db.names.idempotency, { ttlSeconds: IDEMPOTENCY_KEY_TTL_SECONDS }),
  };
  return {
    db,
    deps,
    sfn,
    async stop() {
      sfn.restore();
      await db.stop();
    },
  };
}

/** Every item of every table, in a stable order: the "nothing was written" check. */
export async function snapshotTables(db: DynaliteHarness): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of Object.values(db.names)) {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.client.send(new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start as never } : {}) }));
      for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
      start = page.LastEvaluatedKey;
    } while (start);
    out[table] = items.sort();
  }
  return out;
}

export const alice = 'arn:aws:iam::123456789012:user/alice';

export function apiEvent(init: {
  body?: string | object;
  headers?: Record<string, string>;
  runId?: string;
  itemId?: string;
  query?: Record<string, string>;
  requester?: string | null;
  base64?: boolean;
}): ApiEvent {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return {
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
    ...(body !== undefined
      ? { body: init.base64 ? Buffer.from(body, 'utf8').toString('base64') : body, isBase64Encoded: init.base64 === true }
      : {}),
    ...(init.runId !== undefined ? { pathParameters: { runId: init.runId } } : {}),
    ...(init.itemId !== undefined ? { pathParameters: { itemId: init.itemId } } : {}),
    ...(init.query ? { queryStringParameters: init.query } : {}),
    requestContext: {
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      ...(init.requester === null ? {} : { authorizer: { iam: { userArn: init.requester ?? alice } } }),
    },
  };
}

export function bodyOf(result: ApiResult): any {
  return JSON.parse(result.body);
}
