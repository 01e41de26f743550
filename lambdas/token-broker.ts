import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createAppAuth } from '@octokit/auth-app';
import { request as githubRequest } from '@octokit/request';
import { join } from 'node:path';
import { repoSettings } from '../core/config/load';
import { runtimeConfig } from '../core/config/runtime';
import type { NightshiftConfig } from '../core/config/schema';
import { optionalEnv } from '../core/env';
import { BudgetExhaustedError, RepoNotAllowedError, RunNotFoundError } from '../core/errors';
import { IllegalTransitionError, isTerminal } from '../core/runs/lifecycle';
import { checkpointObjectName, runObjectKey, traceObjectName } from '../core/runs/run-objects';
import { createDocumentClient, tableNamesFromEnv } from '../adapters/dynamodb/client';
import { CallNotReservedError, createBudgetLedger, LedgerInconsistencyError } from '../adapters/dynamodb/budget-ledger';
import { createRunEventLog } from '../adapters/dynamodb/run-event-log';
import { createRunKeys } from '../adapters/dynamodb/run-keys';
import { createRunRepository } from '../adapters/dynamodb/run-repository';
import { runnerRunAccess } from '../core/store/runner-access';
import { setupCacheObjectKey, type SetupCacheKey } from '../core/setup-cache';
import type { BudgetLedgerPort, RunEventLog, RunKeysPort, RunRecord, RunRepository } from '../core/store/ports';
import { issueForgeToken } from './github/forge-tokens';
import {
  GITHUB_TOKEN_PERMISSIONS,
  TokenBrokerRequest,
  type BrokerOutcome,
  type BrokerRefusal,
  type ModelApiKeyResponse,
  type RepoSecretsResponse,
  type SetupCacheUrlResponse,
  type TokenBrokerResponse,
  type TraceUploadResponse,
} from './token-broker-contract';
import { localSecretsFileSource, secretsManagerSource, type SecretSource } from './secret-sources';

/**
 * The token broker: the one place that holds the GitHub App key and can read repo secrets, and the
 * runner's only way to its run's data (the runner task role has no DynamoDB or S3 access). Only the
 * runner task role may invoke it, and every request must carry the run key of the run it names
 * (core/runs/run-key.ts): the key is checked before anything is read for the caller. While the run is
 * RUNNING it mints a token for the run's own repository (from the run record), or hands out that
 * repository's named secrets, and never logs or stores either. The run-data kinds do for that run
 * only, with the store's own conditions, what the runner used to do with its own DynamoDB grants.
 */
export class RunNotActiveError extends Error {
  constructor(runId: string, status: string) {
    super(`run ${runId} is ${status}; tokens are only issued to RUNNING runs`);
    this.name = 'RunNotActiveError';
  }
}

/** The caller did not present the key of the run it named: it is not that run's runner. Says nothing more. */
export class RunKeyRefusedError extends Error {
  constructor(runId: string) {
    super(`refused: the caller is not the runner of run ${runId}`);
    this.name = 'RunKeyRefusedError';
  }
}

/** A write to a run that ended more than RUN_WRITE_GRACE_MS ago: what it recorded stands as it was. */
export class RunClosedError extends Error {
  constructor(runId: string) {
    super(`run ${runId} ended; its timeline and trace are closed`);
    this.name = 'RunClosedError';
  }
}

/**
 * How long after a run ended its runner may still append events and store its trace: Finalize stops
 * the task, and the runner's SIGTERM path (at most the task's 120 s stop timeout) reports what it
 * pushed and stores the last trace. After this the run's records cannot be changed with runner credentials.
 */
export const RUN_WRITE_GRACE_MS = 10 * 60_000;

/** How long a presigned trace or checkpoint URL is valid. */
const OBJECT_URL_SECONDS = 300;

/** Presigns one request on one of a run's objects (`runs/<runId>/<name>`, the name from core/runs/run-objects.ts), and on no other key. */
export type RunObjectPresigner = (runId: string, objectName: string, method: 'PUT' | 'GET') => Promise<TraceUploadResponse>;

export function s3RunObjectPresigner(client: S3Client, bucket: string, now: () => Date = () => new Date()): RunObjectPresigner {
  return async (runId, objectName, method) => {
    const key = runObjectKey(runId, objectName);
    const contentType = objectName.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/json';
    const command =
      method === 'PUT'
        ? new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType })
        : new GetObjectCommand({ Bucket: bucket, Key: key });
    const url = await getSignedUrl(client, command, { expiresIn: OBJECT_URL_SECONDS });
    return { url, location: `s3://${bucket}/${key}`, expiresAt: new Date(now().getTime() + OBJECT_URL_SECONDS * 1000).toISOString() };
  };
}

/** A trace or checkpoint request the run's state does not allow (a later task's trace, a checkpoint outside RUNNING, or one the run does not resume from). */
export class RunObjectRefusedError extends Error {
  constructor(runId: string, reason: string) {
    super(`run ${runId}: ${reason}`);
    this.name = 'RunObjectRefusedError';
  }
}

/** How long a presigned setup-cache GET or PUT is valid (an entry of a few hundred MB at a modest rate). */
const SETUP_CACHE_URL_SECONDS = 900;

/** Presigns a GET or a no-overwrite PUT of one entry under a repository's setup-cache prefix, and of no other key. */
export interface SetupCachePresigner {
  read(repo: string, key: SetupCacheKey): Promise<SetupCacheUrlResponse>;
  write(repo: string, key: SetupCacheKey): Promise<SetupCacheUrlResponse>;
}

export function s3SetupCachePresigner(client: S3Client, bucket: string, now: () => Date = () => new Date()): SetupCachePresigner {
  const expiresAt = () => new Date(now().getTime() + SETUP_CACHE_URL_SECONDS * 1000).toISOString();
  return {
    async read(repo, key) {
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: setupCacheObjectKey(repo, key) }), {
        expiresIn: SETUP_CACHE_URL_SECONDS,
      });
      return { url, headers: {}, expiresAt: expiresAt() };
    },
    async write(repo, key) {
      // If-None-Match is signed: the upload cannot replace an entry another run stored (S3 answers 412).
      const headers = { 'if-none-match': '*', 'content-type': 'application/gzip' };
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: setupCacheObjectKey(repo, key),
        IfNoneMatch: '*',
        ContentType: 'application/gzip',
      });
      const url = await getSignedUrl(client, command, {
        expiresIn: SETUP_CACHE_URL_SECONDS,
        signableHeaders: new Set(['if-none-match', 'content-type']),
      });
      return { url, headers, expiresAt: expiresAt() };
    },
  };
}

/** A setup-cache write after the run's first model call: the agent may have run by then (docs/runner.md). */
export class SetupCacheClosedError extends Error {
  constructor(runId: string) {
    super(`run ${runId} already called the model; the setup cache is written only before that`);
    this.name = 'SetupCacheClosedError';
  }
}

export interface TokenBrokerDeps {
  runs: RunRepository;
  runKeys: RunKeysPort;
  events: RunEventLog;
  ledger: BudgetLedgerPort;
  config: NightshiftConfig;
  secrets: SecretSource;
  /** AWS: presigned trace and checkpoint URLs. Absent in local mode, whose runners keep both in a directory. */
  traces?: RunObjectPresigner;
  /** AWS: presigned setup-cache reads and writes. Absent in local mode, whose runners use a directory. */
  setupCache?: SetupCachePresigner;
  /** `forge`: local mode, tokens the local forge under this directory accepts. */
  forgeRoot?: string;
  /** Local mode only: a model API key from the platform's environment (ANTHROPIC_API_KEY, OPENAI_API_KEY), before `secrets`. */
  modelKeyFromEnvironment?: (provider: 'anthropic' | 'openai') => string | undefined;
  now?: () => Date;
}

export class RepoSecretUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepoSecretUnavailableError';
  }
}

/** Verify first: nothing about the run is read for a caller that does not hold its key. */
async function authenticate(deps: TokenBrokerDeps, request: TokenBrokerRequest): Promise<void> {
  let matches = false;
  try {
    matches = await deps.runKeys.verify(request.runId, request.runKey);
  } catch (err) {
    // An unknown run is refused exactly like a wrong key.
    if (!(err instanceof RunNotFoundError)) throw err;
  }
  if (!matches) throw new RunKeyRefusedError(request.runId);
}

async function requireRun(deps: TokenBrokerDeps, runId: string): Promise<RunRecord> {
  const run = await deps.runs.get(runId);
  if (!run) throw new RunNotFoundError(runId);
  return run;
}

/** The run's repository settings, if the run is RUNNING, not cancel-requested and its repository is configured. */
async function activeRunRepo(deps: TokenBrokerDeps, runId: string) {
  const run = await requireRun(deps, runId);
  if (run.status !== 'RUNNING' || run.cancelRequested)
    throw new RunNotActiveError(runId, run.cancelRequested ? 'cancel-requested' : run.status);
  const settings = repoSettings(deps.config, run.repo);
  if (!settings) throw new RepoNotAllowedError(run.repo);
  return settings;
}

/** Timeline and trace writes: while the run is active, and for RUN_WRITE_GRACE_MS after it ended. */
async function requireOpenForWrites(deps: TokenBrokerDeps, runId: string): Promise<RunRecord> {
  const run = await requireRun(deps, runId);
  if (!isTerminal(run.status)) return run;
  const ended = run.finishedAt ? Date.parse(run.finishedAt) : Number.NaN;
  const now = (deps.now?.() ?? new Date()).getTime();
  if (!(now - ended <= RUN_WRITE_GRACE_MS)) throw new RunClosedError(runId);
  return run;
}

function presignerOf(deps: TokenBrokerDeps): RunObjectPresigner {
  if (!deps.traces) throw new Error('this broker stores no run objects (local mode keeps traces and checkpoints in a directory)');
  return deps.traces;
}

/** The run's task segment: 1 for its first task, then one more for each pause (core/runs/pause.ts). */
const segmentOf = (run: RunRecord): number => run.resume?.segment ?? 1;

/**
 * The run's own objects only, each in the state that needs it: the trace of the current task only,
 * while open for writes (never an earlier task's: a trace is not rewritten after the fact); a
 * checkpoint written while RUNNING (a pause starts there), never over the one the run resumes from;
 * and read back only for the answered pause the run record names.
 */
async function presignRunObject(
  deps: TokenBrokerDeps,
  request: Extract<TokenBrokerRequest, { kind: 'traceUpload' | 'checkpointUpload' | 'checkpointDownload' }>,
): Promise<TraceUploadResponse> {
  const presign = presignerOf(deps);
  const { runId } = request;
  if (request.kind === 'traceUpload') {
    const run = await requireOpenForWrites(deps, runId);
    const segment = request.segment ?? 1;
    // Write-once per task: only the current task's trace is writable. An earlier segment's trace is
    // final (a resumed task must not rewrite its predecessor's record), a later one has not started,
    // and a paused run has no task whose trace is open (the pausing task stored its own before it
    // reported the pause: runner/session/run-ending.ts).
    if (segment > segmentOf(run))
      throw new RunObjectRefusedError(runId, `task segment ${segment} has not started (the run is on segment ${segmentOf(run)})`);
    if (segment < segmentOf(run))
      throw new RunObjectRefusedError(runId, `the trace of task segment ${segment} is final (the run is on segment ${segmentOf(run)})`);
    if (run.status === 'WAITING_FOR_HUMAN')
      throw new RunObjectRefusedError(runId, 'the run is waiting for a human: no task of it is running to write a trace');
    return presign(runId, traceObjectName(segment), 'PUT');
  }
  const run = await requireRun(deps, runId);
  if (run.status !== 'RUNNING' || run.cancelRequested)
    throw new RunObjectRefusedError(
      runId,
      `checkpoints are only read and written while the run is RUNNING (it is ${run.cancelRequested ? 'cancel-requested' : run.status})`,
    );
  const resumesFrom = run.resume?.answer != null ? run.resume.itemId : undefined;
  if (request.kind === 'checkpointUpload') {
    if (request.itemId === resumesFrom) throw new RunObjectRefusedError(runId, 'the checkpoint the run resumes from is not replaced');
    return presign(runId, checkpointObjectName(request.itemId), 'PUT');
  }
  if (request.itemId !== resumesFrom) throw new RunObjectRefusedError(runId, 'the run does not resume from that pause');
  return presign(runId, checkpointObjectName(request.itemId), 'GET');
}

/**
 * The run repository's named secrets (config `repos[].secrets`), and no other repository's: the
 * runner's role cannot read Secrets Manager, so a run of repo A never sees repo B's secrets. A secret
 * that cannot be read is an error naming the variable and the secret, never a value.
 */
async function repoSecretsFor(deps: TokenBrokerDeps, runId: string): Promise<RepoSecretsResponse> {
  const settings = await activeRunRepo(deps, runId);
  const secrets: Record<string, string> = {};
  for (const [variable, secretName] of Object.entries(settings.secrets ?? {})) {
    try {
      secrets[variable] = await deps.secrets(secretName);
    } catch (err) {
      const name = (err as { name?: string }).name;
      throw new RepoSecretUnavailableError(
        `could not read secret ${secretName} for ${variable}: ${name && name !== 'Error' ? name : (err as Error).message}`,
      );
    }
  }
  return { repository: settings.name, secrets };
}

/**
 * The configured model provider's API key (config `model.apiKeySecret`), to a RUNNING run only. The
 * runner asks for it at its first model call and sends it in a header, nowhere else.
 */
export async function modelApiKeyFor(deps: TokenBrokerDeps, runId: string): Promise<ModelApiKeyResponse> {
  const model = deps.config.model;
  if (model.provider === 'bedrock' || model.apiKeySecret === undefined)
    throw new Error(`the configured model provider (${model.provider}) takes no API key`);
  await activeRunRepo(deps, runId);
  const fromEnvironment = deps.modelKeyFromEnvironment?.(model.provider)?.trim();
  if (fromEnvironment) return { provider: model.provider, apiKey: fromEnvironment };
  let apiKey: string;
  try {
    apiKey = (await deps.secrets(model.apiKeySecret)).trim();
  } catch (err) {
    const name = (err as { name?: string }).name;
    throw new RepoSecretUnavailableError(
      `could not read the model API key secret ${model.apiKeySecret}: ${name && name !== 'Error' ? name : (err as Error).message}`,
    );
  }
  if (apiKey === '') throw new RepoSecretUnavailableError(`the model API key secret ${model.apiKeySecret} is empty`);
  return { provider: model.provider, apiKey };
}

async function mintRunToken(deps: TokenBrokerDeps, runId: string): Promise<TokenBrokerResponse> {
  const settings = await activeRunRepo(deps, runId);
  const name = settings.name.split('/')[1]!;
  const github = deps.config.github;

  if (deps.forgeRoot) {
    const { token, expiresAt } = issueForgeToken(deps.forgeRoot, settings.name, runId, 3_600, deps.now?.());
    return { token, expiresAt, mode: 'forge', repository: settings.name, permissions: { ...GITHUB_TOKEN_PERMISSIONS } };
  }
  if (github.appId !== undefined && github.installationId !== undefined && github.privateKeySecret !== undefined) {
    const privateKey = await deps.secrets(github.privateKeySecret);
    const auth = createAppAuth({
      appId: github.appId,
      privateKey,
      request: githubRequest.defaults({ baseUrl: github.apiUrl.replace(/\/$/, ''), headers: { 'user-agent': 'nightshift-token-broker' } }),
    });
    const installation = await auth({
      type: 'installation',
      installationId: github.installationId,
      repositoryNames: [name],
      permissions: { ...GITHUB_TOKEN_PERMISSIONS },
      // A run's token is never shared with another run from a cache.
      refresh: true,
    });
    return {
      token: installation.token,
      expiresAt: installation.expiresAt,
      mode: 'app',
      repository: settings.name,
      permissions: Object.fromEntries(Object.entries(installation.permissions).map(([k, v]) => [k, String(v)])),
    };
  }
  if (github.tokenSecret !== undefined) {
    // Weaker fallback: a fine-grained PAT is not scoped per run; its scope is whatever it was created with.
    const token = (await deps.secrets(github.tokenSecret)).trim();
    const expiresAt = new Date((deps.now?.() ?? new Date()).getTime() + 3_600_000).toISOString();
    return { token, expiresAt, mode: 'pat', repository: settings.name, permissions: { ...GITHUB_TOKEN_PERMISSIONS } };
  }
  throw new Error('no GitHub App or token secret configured');
}

/** The store's typed refusals the runner acts on, as data; anything else stays an error. */
function refusalOf(err: unknown): BrokerRefusal | undefined {
  if (err instanceof BudgetExhaustedError)
    return { name: 'BudgetExhaustedError', message: err.message, neededMicros: err.neededMicros, availableMicros: err.availableMicros };
  if (err instanceof IllegalTransitionError) return { name: 'IllegalTransitionError', message: err.message, from: err.from, to: err.to };
  if (err instanceof CallNotReservedError) return { name: 'CallNotReservedError', message: err.message };
  if (err instanceof LedgerInconsistencyError) return { name: 'LedgerInconsistencyError', message: err.message };
  if (err instanceof RunNotFoundError) return { name: 'RunNotFoundError', message: err.message };
  return undefined;
}

async function outcomeOf(work: () => Promise<unknown>): Promise<BrokerOutcome> {
  try {
    return { ok: true, value: (await work()) ?? null };
  } catch (err) {
    const refusal = refusalOf(err);
    if (refusal) return { ok: false, refusal };
    throw err;
  }
}

/** The run-data kinds: the run named by the (already verified) request, and nothing else. */
function runData(
  deps: TokenBrokerDeps,
  request: Exclude<TokenBrokerRequest, { kind: 'githubToken' | 'repoSecrets' | 'modelApiKey' }>,
): Promise<BrokerOutcome> {
  const { runId } = request;
  switch (request.kind) {
    case 'getRun':
      return outcomeOf(() => requireRun(deps, runId));
    case 'startRun':
      return outcomeOf(() => runnerRunAccess(deps.runs, deps.now).start(runId));
    case 'patchRun':
      return outcomeOf(() => runnerRunAccess(deps.runs, deps.now).patch(runId, request.patch));
    case 'appendEvent':
      return outcomeOf(async () => {
        await requireOpenForWrites(deps, runId);
        return deps.events.append(runId, request.type, request.message, request.detail);
      });
    case 'reserveCall':
      return outcomeOf(() => deps.ledger.reserveCall(runId, request.callId, request.worstMicros));
    case 'settleCall':
      return outcomeOf(() => deps.ledger.settleCall(runId, request.callId, request.actualMicros, request.usage));
    case 'charge':
      return outcomeOf(() => deps.ledger.charge(runId, request.chargeId, request.micros));
    case 'traceUpload':
    case 'checkpointUpload':
    case 'checkpointDownload':
      return outcomeOf(() => presignRunObject(deps, request));
    case 'setupCacheRead':
      return outcomeOf(async () => {
        if (!deps.setupCache) throw new Error('this broker has no setup cache (local mode uses a directory)');
        // The repository comes from the run record, never from the caller: its prefix is the only one reachable.
        const settings = await activeRunRepo(deps, runId);
        return deps.setupCache.read(settings.name, request.key);
      });
    case 'setupCacheWrite':
      return outcomeOf(async () => {
        if (!deps.setupCache) throw new Error('this broker has no setup cache (local mode uses a directory)');
        const settings = await activeRunRepo(deps, runId);
        const run = await requireRun(deps, runId);
        if (Object.values(run.tokens).some((n) => n > 0)) throw new SetupCacheClosedError(runId);
        return deps.setupCache.write(settings.name, request.key);
      });
  }
}

/**
 * One broker request: parsed, authenticated by its run key, then answered for that run only.
 * Refusals of the caller (bad input, wrong key, a run not RUNNING for a token) throw.
 */
export async function brokerRequest(
  deps: TokenBrokerDeps,
  input: unknown,
): Promise<TokenBrokerResponse | RepoSecretsResponse | ModelApiKeyResponse | BrokerOutcome> {
  const request = TokenBrokerRequest.parse(input);
  await authenticate(deps, request);
  if (request.kind === 'githubToken') return mintRunToken(deps, request.runId);
  if (request.kind === 'repoSecrets') return repoSecretsFor(deps, request.runId);
  if (request.kind === 'modelApiKey') return modelApiKeyFor(deps, request.runId);
  return runData(deps, request);
}

let deps: TokenBrokerDeps | undefined;

function defaultDeps(): TokenBrokerDeps {
  const secretsFile = optionalEnv('NIGHTSHIFT_SECRETS_FILE');
  const forgeHome =
    optionalEnv('NIGHTSHIFT_GITHUB_MODE') === 'forge' ? join(optionalEnv('NIGHTSHIFT_HOME') ?? '.nightshift', 'forge') : undefined;
  const tracesBucket = optionalEnv('TRACES_BUCKET');
  // Only the stores the broker answers from: the run, its key, its events and the ledger of its model calls.
  const doc = createDocumentClient();
  const names = tableNamesFromEnv();
  return {
    runs: createRunRepository(doc, names.runs),
    runKeys: createRunKeys(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    ledger: createBudgetLedger(doc, { runs: names.runs, control: names.control }),
    config: runtimeConfig(),
    secrets: secretsFile ? localSecretsFileSource(secretsFile) : secretsManagerSource(new SecretsManagerClient({})),
    ...(tracesBucket
      ? { traces: s3RunObjectPresigner(new S3Client({}), tracesBucket), setupCache: s3SetupCachePresigner(new S3Client({}), tracesBucket) }
      : {}),
    ...(forgeHome ? { forgeRoot: forgeHome } : {}),
    // Local mode reads keys from the platform's environment too; a Lambda's environment holds none.
    ...(secretsFile
      ? {
          modelKeyFromEnvironment: (provider: 'anthropic' | 'openai') =>
            optionalEnv(provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY'),
        }
      : {}),
  };
}

const loggedKinds = new Set(['githubToken', 'repoSecrets', 'modelApiKey', 'startRun', 'checkpointUpload', 'checkpointDownload']);

/** Lambda entry: a `TokenBrokerRequest` in; a token, the repo's secrets, or a run-data outcome out. Refusals throw (FunctionError). */
export async function handler(event: unknown): Promise<TokenBrokerResponse | RepoSecretsResponse | ModelApiKeyResponse | BrokerOutcome> {
  deps ??= defaultDeps();
  const request = TokenBrokerRequest.safeParse(event);
  const runId = request.success ? request.data.runId : undefined;
  const kind = request.success ? request.data.kind : undefined;
  try {
    const response = await brokerRequest(deps, event);
    // Logged without values: which run got what (never the key, a token or a secret).
    if (kind && loggedKinds.has(kind)) {
      const detail =
        'secrets' in response
          ? { repository: response.repository, variables: Object.keys(response.secrets) }
          : 'apiKey' in response
            ? { provider: response.provider }
            : 'token' in response
              ? { mode: response.mode, repository: response.repository, expiresAt: response.expiresAt }
              : {};
      console.log(JSON.stringify({ level: 'info', message: `${kind} answered`, runId, kind, ...detail }));
    }
    return response;
  } catch (err) {
    // A refusal is worth a line: a caller without the run's key is either a bug or someone trying.
    console.log(
      JSON.stringify({ level: 'warn', message: 'request refused', runId: runId ?? null, kind: kind ?? null, error: (err as Error).name }),
    );
    throw err;
  }
}
