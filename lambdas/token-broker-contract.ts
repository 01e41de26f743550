import * as z from 'zod';
import { TokenUsage } from '../core/pricing';
import { RunKey } from '../core/runs/run-key';
import { MAX_TASK_SEGMENTS } from '../core/runs/run-objects';
import { SetupCacheKey } from '../core/setup-cache';
import { BranchName, RunEventType, RunId } from '../core/runs/schemas';

/**
 * The token broker's Invoke payloads. The broker is the runner's only way to its run's data: every
 * request names the run and carries the run key (core/runs/run-key.ts) that Admit issued to the task
 * launched for it. The broker checks the key before anything else, so another principal that may
 * invoke the function, or a runner naming another run, gets nothing. The repository and every other
 * fact about the run come from the run record, never from the caller.
 */
const Caller = { runId: RunId, runKey: RunKey };

const EntryId = z.string().regex(/^[A-Za-z0-9._:#-]{1,128}$/);
const Micros = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Segment = z.number().int().min(2).max(MAX_TASK_SEGMENTS);

export const TokenBrokerRequest = z.discriminatedUnion('kind', [
  /** An installation token for the run's repository (RUNNING, not cancel-requested). */
  z.object({ kind: z.literal('githubToken'), ...Caller }).strict(),
  /** The run repository's named secrets (config `repos[].secrets`; RUNNING, not cancel-requested). */
  z.object({ kind: z.literal('repoSecrets'), ...Caller }).strict(),
  /** The key of the configured model provider (config `model.apiKeySecret`, anthropic and openai; RUNNING, not cancel-requested). */
  z.object({ kind: z.literal('modelApiKey'), ...Caller }).strict(),
  /** The run record. */
  z.object({ kind: z.literal('getRun'), ...Caller }).strict(),
  /** STARTING → RUNNING (startedAt is the broker's clock). */
  z.object({ kind: z.literal('startRun'), ...Caller }).strict(),
  /** The fields the runner records on its run, and no other: the run branch and the pull request. */
  z
    .object({
      kind: z.literal('patchRun'),
      ...Caller,
      patch: z
        .object({ branch: BranchName, prUrl: z.string().url().max(2_048) })
        .partial()
        .strict(),
    })
    .strict(),
  /** One entry of the run's timeline (already redacted by the runner). */
  z
    .object({
      kind: z.literal('appendEvent'),
      ...Caller,
      type: RunEventType,
      message: z.string().max(4_000),
      detail: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  /** The run ledger (adapters/dynamodb/budget-ledger.ts), for this run only. */
  z.object({ kind: z.literal('reserveCall'), ...Caller, callId: EntryId, worstMicros: Micros }).strict(),
  z.object({ kind: z.literal('settleCall'), ...Caller, callId: EntryId, actualMicros: Micros, usage: TokenUsage }).strict(),
  z.object({ kind: z.literal('charge'), ...Caller, chargeId: EntryId, micros: Micros }).strict(),
  /**
   * A short-lived presigned PUT for the run's own trace object (AWS only; local mode writes a
   * directory): `trace.jsonl`, or with `segment` the trace of a task resumed after a pause.
   */
  z.object({ kind: z.literal('traceUpload'), ...Caller, segment: Segment.optional() }).strict(),
  /** A presigned PUT of the checkpoint of the pause `itemId` (RUNNING, not cancel-requested; AWS only). */
  z.object({ kind: z.literal('checkpointUpload'), ...Caller, itemId: RunId }).strict(),
  /** A presigned GET of the checkpoint the run resumes from: only the answered pause its record names (AWS only). */
  z.object({ kind: z.literal('checkpointDownload'), ...Caller, itemId: RunId }).strict(),
  /** A short-lived presigned GET of one setup-cache entry of the run's repository (AWS only; local mode uses a directory). */
  z.object({ kind: z.literal('setupCacheRead'), ...Caller, key: SetupCacheKey }).strict(),
  /** A presigned PUT that cannot replace an existing entry; only while RUNNING and before the run's first model call. */
  z.object({ kind: z.literal('setupCacheWrite'), ...Caller, key: SetupCacheKey }).strict(),
]);
export type TokenBrokerRequest = z.infer<typeof TokenBrokerRequest>;
export type TokenBrokerRequestKind = TokenBrokerRequest['kind'];

/** The answer to `{ kind: "repoSecrets" }`: environment variable → secret value, for the run's repository only. */
export const RepoSecretsResponse = z
  .object({
    repository: z.string(),
    secrets: z.record(z.string(), z.string()),
  })
  .strict();
export type RepoSecretsResponse = z.infer<typeof RepoSecretsResponse>;

/** The answer to `{ kind: "modelApiKey" }`: the configured provider's API key. */
export const ModelApiKeyResponse = z
  .object({
    provider: z.enum(['anthropic', 'openai']),
    apiKey: z.string().min(1),
  })
  .strict();
export type ModelApiKeyResponse = z.infer<typeof ModelApiKeyResponse>;

export const GITHUB_TOKEN_PERMISSIONS = {
  contents: 'write',
  pull_requests: 'write',
  issues: 'write',
  metadata: 'read',
} as const;

export const TokenBrokerResponse = z
  .object({
    token: z.string().min(1),
    /** ISO time; the runner asks again after it. */
    expiresAt: z.string(),
    /** `app`: installation token for one repository; `pat`: the configured personal access token (weaker); `forge`: local mode. */
    mode: z.enum(['app', 'pat', 'forge']),
    repository: z.string(),
    permissions: z.record(z.string(), z.string()),
  })
  .strict();
export type TokenBrokerResponse = z.infer<typeof TokenBrokerResponse>;

/** The answer to `traceUpload` and `checkpointUpload` (PUT the whole object to `url` before `expiresAt`) and `checkpointDownload` (GET it). */
export const TraceUploadResponse = z.object({ url: z.string().url(), location: z.string(), expiresAt: z.string() }).strict();
export type TraceUploadResponse = z.infer<typeof TraceUploadResponse>;

/** The answer to `setupCacheRead` / `setupCacheWrite`: the URL, and the headers a PUT must send (they are signed). */
export const SetupCacheUrlResponse = z
  .object({ url: z.string().url(), headers: z.record(z.string(), z.string()), expiresAt: z.string() })
  .strict();
export type SetupCacheUrlResponse = z.infer<typeof SetupCacheUrlResponse>;

/**
 * Refusals of the run-data kinds the runner acts on, returned as data (not a function error) so that
 * the runner gets the same typed error the store would have thrown.
 */
export const BrokerRefusal = z.discriminatedUnion('name', [
  z.object({ name: z.literal('BudgetExhaustedError'), message: z.string(), neededMicros: Micros, availableMicros: Micros }).strict(),
  z.object({ name: z.literal('IllegalTransitionError'), message: z.string(), from: z.string(), to: z.string() }).strict(),
  z.object({ name: z.enum(['CallNotReservedError', 'LedgerInconsistencyError', 'RunNotFoundError']), message: z.string() }).strict(),
]);
export type BrokerRefusal = z.infer<typeof BrokerRefusal>;

/** The envelope of the run-data kinds (getRun … charge): a value, or a typed refusal. */
export const BrokerOutcome = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), refusal: BrokerRefusal }).strict(),
]);
export type BrokerOutcome = z.infer<typeof BrokerOutcome>;
