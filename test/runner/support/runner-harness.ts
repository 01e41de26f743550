import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NightshiftConfig } from '../../../core/config/schema';
import { modelCallMicros, usdToMicros } from '../../../core/pricing';
import { readFileSync } from 'node:fs';
import { newRunId } from '../../../core/runs/run-id';
import type { RunnerPause } from '../../../core/inbox/pause-report';
import type { RunnerErrorName, RunnerResult } from '../../../core/runs/schemas';
import type { RunRecord } from '../../../core/store/ports';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hashRunKey, newRunKey } from '../../../core/runs/run-key';
import { RUN_KEY_HASH_ATTRIBUTE } from '../../../adapters/dynamodb/run-keys';
import { brokerRequest, type TokenBrokerDeps } from '../../../lambdas/token-broker';
import { brokerEventLog, brokerLedger, brokerRunAccess } from '../../../runner/broker-run-data';
import { tokenBrokerSource } from '../../../runner/github-token-source';
import type { BrokerCaller } from '../../../runner/token-broker-client';
import { createBareRepoFromDirectory, startForge, type ForgeServer } from '../../../local/forge';
import { octokitGithubApi } from '../../../runner/github/github-api';
import { ReplayProvider } from '../../../runner/model/replay-provider';
import { Redactor } from '../../../runner/redaction';
import { RunSession, type RunEnd, type RunnerDeps } from '../../../runner/run-session';
import type { TaskCallbacks } from '../../../runner/task-callbacks';
import { directoryCheckpointStore, directoryTraceSink } from '../../../runner/trace/trace-sink';
import { startDynalite, type DynaliteHarness } from '../../support/dynalite';
import { runnerFixture, testConfig } from '../../support/test-config';

export const REPO = 'demo/sample-app';
export const fixtures = resolve(__dirname, '../../fixtures');
export const sampleProject = join(fixtures, 'sample-project');
export const session = (name: string) => join(fixtures, 'sessions', `${name}.jsonl`);

export interface RecordedCallbacks extends TaskCallbacks {
  heartbeats: number;
  successes: RunnerResult[];
  pauses: RunnerPause[];
  failures: { error: RunnerErrorName; cause: string }[];
}

export function recordingCallbacks(): RecordedCallbacks {
  const rec: RecordedCallbacks = {
    heartbeats: 0,
    successes: [],
    pauses: [],
    failures: [],
    async heartbeat() {
      rec.heartbeats++;
    },
    async succeed(result) {
      rec.successes.push(result);
    },
    async pause(report) {
      rec.pauses.push(report);
    },
    async fail(error, cause) {
      rec.failures.push({ error, cause });
    },
  };
  return rec;
}

export interface RunnerHarness {
  db: DynaliteHarness;
  forge: ForgeServer;
  root: string;
  forgeRoot: string;
  bare: string;
  /** A run, with the run key Admit would have issued to its task (whatever status it is created in). */
  createRun(overrides?: Partial<RunRecord>): Promise<RunRecord & { runKey: string }>;
  /** The token broker over this harness's tables and forge (local-mode tokens), as the Lambda builds it. */
  brokerDeps(config: NightshiftConfig, extra?: Partial<TokenBrokerDeps>): TokenBrokerDeps;
  /** The run key createRun issued for `runId` (or the one `useRunKey` set). */
  runKeyOf(runId: string): string;
  /** The next task's run key: Admit issues a new one at every admission (a resume after a pause). */
  useRunKey(runId: string, runKey: string): void;
  stop(): Promise<void>;
}

/** The broker called in process, as the runner's Lambda client calls it: the run key is added to every request. */
export function inProcessBroker(deps: TokenBrokerDeps, runKey: string): BrokerCaller {
  return { call: (request) => brokerRequest(deps, { ...request, runKey }) };
}

export async function startRunnerHarness(options: { project?: string } = {}): Promise<RunnerHarness> {
  const root = mkdtempSync(join(tmpdir(), 'nightshift-runner-test-'));
  // The tool user (when the tests run as root) must be able to reach the workspaces below.
  chmodSync(root, 0o711);
  const forgeRoot = join(root, 'forge');
  mkdirSync(forgeRoot, { recursive: true });
  const bare = createBareRepoFromDirectory(forgeRoot, REPO, options.project ?? sampleProject);
  const db = await startDynalite();
  const forge = await startForge({ root: forgeRoot });
  const runKeys = new Map<string, string>();
  return {
    db,
    forge,
    root,
    forgeRoot,
    bare,
    async createRun(overrides = {}) {
      const now = new Date();
      const run: RunRecord = {
        runId: newRunId(),
        kind: 'run',
        repo: REPO,
        status: 'STARTING',
        outcome: null,
        source: 'api',
        requester: 'arn:aws:iam::123456789012:user/dev',
        prompt: 'Fix the failing add test',
        baseBranch: null,
        branch: null,
        issue: null,
        labels: [],
        createdAt: now.toISOString(),
        startedAt: null,
        finishedAt: null,
        prUrl: null,
        maxMinutes: 20,
        queuePosition: null,
        cancelRequested: false,
        error: null,
        tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        budgetMicros: usdToMicros(1),
        spentMicros: 0,
        ledgerDay: now.toISOString().slice(0, 10),
        settled: false,
        requestHash: null,
        ...overrides,
      };
      await db.store.runs.create(run);
      const runKey = newRunKey();
      await db.doc.send(
        new UpdateCommand({
          TableName: db.names.runs,
          Key: { runId: run.runId },
          UpdateExpression: 'SET #h = :h',
          ExpressionAttributeNames: { '#h': RUN_KEY_HASH_ATTRIBUTE },
          ExpressionAttributeValues: { ':h': hashRunKey(runKey) },
        }),
      );
      runKeys.set(run.runId, runKey);
      return { ...run, runKey };
    },
    runKeyOf(runId) {
      const key = runKeys.get(runId);
      if (!key) throw new Error(`no run key was issued for ${runId}`);
      return key;
    },
    useRunKey(runId, runKey) {
      runKeys.set(runId, runKey);
    },
    brokerDeps(config, extra = {}) {
      return {
        runs: db.store.runs,
        runKeys: db.store.runKeys,
        events: db.store.events,
        ledger: db.store.ledger,
        config,
        secrets: async () => 'unused',
        forgeRoot,
        ...extra,
      };
    },
    async stop() {
      await forge.stop();
      await db.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface InProcessRun {
  end: RunEnd;
  /** The session that ran (its phase timings). */
  session: RunSession;
  callbacks: RecordedCallbacks;
  provider: ReplayProvider;
  logs: string[];
  traceDir: string;
}

/** Runs the runner in this process against the harness: forge, dynalite, replay, recorded callbacks. */
export function startInProcessRun(
  h: RunnerHarness,
  runId: string,
  sessionFile: string,
  options: {
    config?: NightshiftConfig;
    stop?: AbortSignal;
    secrets?: string[];
    callbacks?: RecordedCallbacks;
    tokens?: RunnerDeps['tokens'];
    deps?: Partial<RunnerDeps>;
  } = {},
): { done: Promise<InProcessRun>; callbacks: RecordedCallbacks; provider: ReplayProvider; logs: string[] } {
  const config = options.config ?? testConfig(runnerFixture());
  const callbacks = options.callbacks ?? recordingCallbacks();
  const provider = new ReplayProvider(sessionFile);
  const logs: string[] = [];
  const redactor = new Redactor();
  for (const s of options.secrets ?? []) redactor.add(s);
  const traceDir = join(h.root, 'traces');
  const workspace = join(h.root, 'work', runId);
  const broker = inProcessBroker(h.brokerDeps(config), h.runKeyOf(runId));
  const deps: RunnerDeps = {
    runId,
    config,
    // Everything of the run through the token broker with the run key, as on AWS.
    runs: brokerRunAccess(broker),
    events: brokerEventLog(broker),
    ledger: brokerLedger(broker),
    callbacks,
    tokens: options.tokens ?? tokenBrokerSource(broker),
    github: (token, repo) => octokitGithubApi({ baseUrl: h.forge.url, token, repo }),
    model: provider,
    traceSink: directoryTraceSink(traceDir),
    checkpoints: directoryCheckpointStore(traceDir),
    workspace,
    redactor,
    logSink: (line) => logs.push(line),
    stop: options.stop ?? new AbortController().signal,
    ...options.deps,
  };
  const runner = new RunSession(deps);
  const done = runner.execute().then((end) => ({ end, session: runner, callbacks, provider, logs, traceDir }));
  return { done, callbacks, provider, logs };
}

export function writeProject(dir: string, files: Record<string, string>): string {
  cpSync(sampleProject, dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/**
 * The sample project with npm dependencies that install offline: each package directory is packed
 * (`npm pack`) into vendor/, depended on as `file:vendor/<tarball>`, and locked by npm itself.
 */
export function vendoredNpmProject(dir: string, packageDirs: string[]): string {
  const project = writeProject(dir, {});
  mkdirSync(join(project, 'vendor'), { recursive: true });
  const dependencies: Record<string, string> = {};
  for (const pkg of packageDirs) {
    const packed = spawnSync('npm', ['pack', pkg, '--pack-destination', join(project, 'vendor'), '--json'], {
      encoding: 'utf8',
      cwd: project,
    });
    if (packed.status !== 0) throw new Error(`npm pack ${pkg} failed: ${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout) as { name: string; filename: string }[];
    dependencies[info!.name] = `file:vendor/${info!.filename}`;
  }
  const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ ...manifest, dependencies }, null, 2));
  const locked = spawnSync('npm', ['install', '--package-lock-only', '--offline', '--no-audit', '--no-fund'], {
    encoding: 'utf8',
    cwd: project,
  });
  if (locked.status !== 0) throw new Error(`npm install --package-lock-only failed: ${locked.stderr}`);
  writeFileSync(join(project, '.gitignore'), 'node_modules/\n');
  return project;
}

/** Cost and usage of the first `turns` responses of a recorded session at the test config's prices. */
export function transcriptMicros(
  file: string,
  turns = Infinity,
): { micros: number; usage: { input: number; output: number; cacheRead: number; cacheWrite: number } } {
  const prices = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
  const usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  let micros = 0;
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, turns)
    .forEach((line) => {
      const u = (
        JSON.parse(line) as {
          usage: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number };
        }
      ).usage;
      const call = {
        input: u.inputTokens,
        output: u.outputTokens,
        cacheRead: u.cacheReadInputTokens ?? 0,
        cacheWrite: u.cacheWriteInputTokens ?? 0,
      };
      micros += modelCallMicros(call, prices);
      usage.input += call.input;
      usage.output += call.output;
      usage.cacheRead += call.cacheRead;
      usage.cacheWrite += call.cacheWrite;
    });
  return { micros, usage };
}

/**
 * The environment of a real runner process (`node --import tsx runner/main.ts`) against this harness:
 * dynalite, the loopback SFN/Lambda endpoints at `awsUrl`, the forge, and a replayed session.
 */
export function runnerProcessEnv(
  h: RunnerHarness,
  options: { runId: string; awsUrl: string; config: NightshiftConfig; sessionFile: string },
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: h.root,
    RUN_ID: options.runId,
    RUN_KEY: h.runKeyOf(options.runId),
    AWS_ACCESS_KEY_ID: 'local',
    AWS_REGION: 'us-east-1',
    // No DynamoDB endpoint or table names: the runner reaches its run only through the broker.
    AWS_ENDPOINT_URL_SFN: options.awsUrl,
    AWS_ENDPOINT_URL_LAMBDA: options.awsUrl,
    NIGHTSHIFT_CONFIG_JSON: JSON.stringify(options.config),
    TOKEN_BROKER_FUNCTION: 'nightshift-token-broker',
    NIGHTSHIFT_MODEL: `replay:${options.sessionFile}`,
    GITHUB_API_URL: h.forge.url,
    NIGHTSHIFT_TRACE_DIR: join(h.root, 'traces'),
    NIGHTSHIFT_WORKDIR: join(h.root, 'work'),
  };
}
