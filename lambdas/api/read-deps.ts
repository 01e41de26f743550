import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv } from '../../core/env';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../adapters/dynamodb/client';
import { createInboxStore } from '../../adapters/dynamodb/inbox-store';
import { createRunEventLog } from '../../adapters/dynamodb/run-event-log';
import { createListingRunRepository, listIndexModeFromEnv } from '../../adapters/dynamodb/run-list';
import { createRunQueue, type RunQueuePort } from '../../adapters/dynamodb/run-queue';
import type { AnswerDeps } from '../../core/runs/answer';
import type { SubmitDeps } from '../../core/runs/submit';
import type { ListingRunRepository } from '../../core/store/ports';

/**
 * The read-only routes' deps, apart from lambdas/api/deps.ts: importing that module loads the Step
 * Functions client the writing routes use (an external package is loaded at init whether or not it is
 * used), which the read-only routes never call.
 */
export function apiDynamoClient(env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  return createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) });
}

/** What the read-only routes need (GET runs, events, inbox): no ledger, slots or executions, so their bundles carry none. */
export type ReadApiDeps = Pick<SubmitDeps, 'config' | 'events'> &
  Pick<AnswerDeps, 'inbox'> & {
    /** The runs, with their list (GET /v1/runs). */
    runs: ListingRunRepository;
    /** A QUEUED run's live position (GET /v1/runs/{runId}); absent: the position Admit stored. */
    queuePositions?: Pick<RunQueuePort, 'position'>;
  };

export function readApiDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ReadApiDeps {
  const names = tableNamesFromEnv(env);
  const doc = documentClientFor(apiDynamoClient(env));
  return {
    config: runtimeConfig(),
    runs: createListingRunRepository(doc, names.runs, { listIndexes: listIndexModeFromEnv(env) }),
    events: createRunEventLog(doc, names.events),
    inbox: createInboxStore(doc, names.inbox),
    queuePositions: createRunQueue(doc, names.control),
  };
}

/** Built on first use, then kept for the life of the Lambda instance (clients at module scope). */
export function lazyApiDeps<D>(build: () => D): () => D {
  let deps: D | undefined;
  return () => (deps ??= build());
}
