import { BudgetExhaustedError } from '../core/errors';
import { IllegalTransitionError, RunStatus } from '../core/runs/lifecycle';
import { RunEvent } from '../core/runs/schemas';
import type { RunnerEventLog, RunnerLedger, RunnerRunAccess, RunRecord } from '../core/store/ports';
import { RunRecord as RunRecordSchema } from '../core/runs/run-record';
import { BrokerOutcome, SetupCacheUrlResponse, TraceUploadResponse, type BrokerRefusal } from '../lambdas/token-broker-contract';
import type { SetupCacheUrls } from './session/setup-cache';
import { TokenBrokerRefusedError, type BrokerCall, type BrokerCaller } from './token-broker-client';
import type { CheckpointStore, TraceSink } from './trace/trace-sink';

/**
 * The runner's run data on AWS: every read and write of its run item, events, ledger entries and
 * trace is a token broker request carrying the run key, because the runner task role (shared by all
 * runner tasks) has no DynamoDB or S3 access. The broker answers with the store's result or its typed
 * refusal, which is thrown here as the same error the store throws, so the run session cannot tell
 * the difference.
 */

function errorOf(runId: string, refusal: BrokerRefusal): Error {
  switch (refusal.name) {
    case 'BudgetExhaustedError':
      return new BudgetExhaustedError(runId, refusal.neededMicros, refusal.availableMicros);
    case 'IllegalTransitionError':
      return new IllegalTransitionError(runId, RunStatus.parse(refusal.from), RunStatus.parse(refusal.to));
    default:
      return Object.assign(new Error(refusal.message), { name: refusal.name });
  }
}

async function outcome(broker: BrokerCaller, request: BrokerCall): Promise<unknown> {
  const parsed = BrokerOutcome.safeParse(await broker.call(request));
  if (!parsed.success) throw new TokenBrokerRefusedError(`malformed ${request.kind} response`);
  if (!parsed.data.ok) throw errorOf(request.runId, parsed.data.refusal);
  return parsed.data.value;
}

const runRecord = (value: unknown): RunRecord => RunRecordSchema.parse(value);

export function brokerRunAccess(broker: BrokerCaller): RunnerRunAccess {
  return {
    async get(runId) {
      try {
        return runRecord(await outcome(broker, { kind: 'getRun', runId }));
      } catch (err) {
        if ((err as Error).name === 'RunNotFoundError') return undefined;
        throw err;
      }
    },
    start: async (runId) => runRecord(await outcome(broker, { kind: 'startRun', runId })),
    patch: async (runId, patch) =>
      runRecord(
        await outcome(broker, {
          kind: 'patchRun',
          runId,
          patch: { ...(patch.branch != null ? { branch: patch.branch } : {}), ...(patch.prUrl != null ? { prUrl: patch.prUrl } : {}) },
        }),
      ),
  };
}

export function brokerEventLog(broker: BrokerCaller): RunnerEventLog {
  return {
    append: async (runId, type, message, detail) =>
      RunEvent.parse(await outcome(broker, { kind: 'appendEvent', runId, type, message, ...(detail ? { detail } : {}) })),
  };
}

export function brokerLedger(broker: BrokerCaller): RunnerLedger {
  return {
    async reserveCall(runId, callId, worstMicros) {
      await outcome(broker, { kind: 'reserveCall', runId, callId, worstMicros });
    },
    async settleCall(runId, callId, actualMicros, usage) {
      await outcome(broker, { kind: 'settleCall', runId, callId, actualMicros, usage });
    },
    async charge(runId, chargeId, micros) {
      await outcome(broker, { kind: 'charge', runId, chargeId, micros });
    },
  };
}

/** PUTs a whole object to a URL the broker presigned. The URL carries a signature: never in a message. */
async function putPresigned(put: typeof fetch, url: string, body: string, contentType: string, what: string): Promise<void> {
  const response = await put(url, { method: 'PUT', body, headers: { 'content-type': contentType } });
  if (!response.ok) throw new Error(`storing the ${what} failed: HTTP ${response.status}`);
}

/**
 * The trace in S3 through a presigned PUT the broker issues for the run's own key only, and only
 * while the run is open for writes (after that, nothing with runner credentials can replace it).
 */
export function brokerTraceSink(broker: BrokerCaller, put: typeof fetch = fetch): TraceSink {
  return {
    async put(runId, body, segment = 1) {
      const upload = TraceUploadResponse.parse(await outcome(broker, { kind: 'traceUpload', runId, ...(segment > 1 ? { segment } : {}) }));
      await putPresigned(put, upload.url, body, 'application/x-ndjson', 'trace');
      return upload.location;
    },
  };
}

/**
 * The checkpoints of the run's pauses in S3, through a presigned PUT (while RUNNING) and GET (of the
 * answered pause the run record names, only) that the broker issues for that run's own key.
 */
export function brokerCheckpointStore(broker: BrokerCaller, request: typeof fetch = fetch): CheckpointStore {
  return {
    async put(runId, itemId, body) {
      const upload = TraceUploadResponse.parse(await outcome(broker, { kind: 'checkpointUpload', runId, itemId }));
      await putPresigned(request, upload.url, body, 'application/json', 'checkpoint');
      return upload.location;
    },
    async read(runId, itemId) {
      const download = TraceUploadResponse.parse(await outcome(broker, { kind: 'checkpointDownload', runId, itemId }));
      const response = await request(download.url, { method: 'GET' });
      if (!response.ok) throw new Error(`reading the checkpoint failed: HTTP ${response.status}`);
      return response.text();
    },
  };
}

/** Presigned URLs for the run's setup-cache entries (the broker picks the repository's prefix from the run record). */
export function brokerSetupCacheUrls(broker: BrokerCaller, runId: string): SetupCacheUrls {
  return {
    readUrl: async (key) => SetupCacheUrlResponse.parse(await outcome(broker, { kind: 'setupCacheRead', runId, key })).url,
    writeUrl: async (key) => {
      const { url, headers } = SetupCacheUrlResponse.parse(await outcome(broker, { kind: 'setupCacheWrite', runId, key }));
      return { url, headers };
    },
  };
}
