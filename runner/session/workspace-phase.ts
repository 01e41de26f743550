import { chmodSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { PROXY_START_CHECK_MS, PROXY_START_MAX_CHECKS, proxyStartCheck } from '../../core/egress/proxy-demand';
import { repoSettings, type RepoSettings } from '../../core/config/load';
import { checkProxy, ProxyUnavailableError } from '../../adapters/http/proxy-check';
import { runStartedMetrics } from '../../core/metrics/run-metrics';
import { isTerminal } from '../../core/runs/lifecycle';
import { slugify } from '../../core/runs/text';
import { runProxy } from '../egress/egress-settings';
import { GitCommandError, WorkspaceGit } from '../git/workspace-git';
import type { GithubApi } from '../github/github-api';
import type { GithubToken } from '../github-token-source';
import { runSandboxed } from '../isolation/sandbox';
import { buildToolEnvironment } from '../isolation/tool-environment';
import { resolveToolIdentity } from '../isolation/tool-identity';
import {
  MAX_NIGHTSHIFT_YML_BYTES,
  parseNightshiftYml,
  readNightshiftYml,
  RepoSettingsFileError,
  type NightshiftYml,
} from '../repo/repo-settings-file';
import { readRepoSecrets, RepoSecretError } from '../secrets/repo-secrets';
import { DEFAULT_PROTECTED_PATHS, ProtectedPaths } from '../tools/protected-paths';
import { giveTreeTo, prepareWorkspace, type WorkspaceLayout } from '../workspace';
import type { CommandEnvironments, PreparedRun, RepoRules, RunProxy, StartedRun } from './prepared-run';
import { assertRunOwnsBranch, RepoAccess } from './repo-access';
import { restoreSetup, runSetupCacheKey, saveSetup } from './setup-cache';
import type { RunContext } from './run-context';
import { announceToolStart } from './tool-start';
import { Interrupted, RunFailure } from './run-errors';

const SETUP_TIMEOUT_SECONDS = 900;

export const defaultRepoRules = (): RepoRules => ({
  repoFile: {},
  testCommand: undefined,
  protectedPaths: new ProtectedPaths(DEFAULT_PROTECTED_PATHS),
});

/** Marks the run RUNNING, checks the egress proxy and creates the workspace. */
export async function startRun(ctx: RunContext, layout: WorkspaceLayout): Promise<StartedRun> {
  const { deps } = ctx;
  // Before the first broker call: on AWS the broker, like every AWS API, is reached through the proxy.
  const proxyWaitMs = await waitForOnDemandProxy(ctx);
  const run = await deps.runs.get(deps.runId);
  if (!run) throw new RunFailure('run_not_found', `run ${deps.runId} is not in the runs table`);
  if (isTerminal(run.status) || run.cancelRequested)
    throw new Interrupted(`run is ${run.cancelRequested ? 'cancel-requested' : run.status}`);
  const running = run.status === 'RUNNING' ? run : await deps.runs.start(run.runId);
  ctx.adoptRun(running);
  // Counted once: a runner restarted on a run that is already RUNNING, or resumed after a pause, did not start it.
  if (run.status !== 'RUNNING' && run.startedAt === null && running.startedAt)
    ctx.metrics.emitRecords(runStartedMetrics(running, running.startedAt));
  await ctx.emit('status', 'RUNNING: the runner started', { status: 'RUNNING', model: deps.model.description });
  if (deps.model.kind === 'replay')
    await ctx.emit('note', `replayed session: this run is served by a ${deps.model.description}, not a live model`, { replayed: true });

  const proxy = await checkEgress(ctx, proxyWaitMs);

  const identity = resolveToolIdentity(deps.toolUser, { exclusive: deps.toolUserExclusive === true });
  if (identity.kind === 'separate') {
    await ctx.emit('note', `isolation: tools run as ${identity.user} (uid ${identity.uid}), separate from the runner`, {
      isolation: 'uid',
      toolUid: identity.uid,
    });
  } else {
    await ctx.emit('note', `isolation: not root, ${identity.reason}`, { isolation: 'same-user', toolUid: identity.uid });
  }
  prepareWorkspace(layout, identity);
  const toolEnv = buildToolEnvironment({ home: layout.toolHome, user: identity.user, ...(proxy ? { proxyUrl: proxy.url } : {}) });
  return { layout, identity, proxy, toolEnv };
}

/** Preflight before any work: a run whose proxy is down or serves another allowlist fails fast instead of hanging. */
async function checkEgress(ctx: RunContext, waitedMs: number): Promise<RunProxy | undefined> {
  const egress = ctx.deps.egress;
  if (!egress) {
    await ctx.emit('note', 'egress: NIGHTSHIFT_PROXY_URL is not set, so tools ran without an egress proxy (no network allowlist)', {
      egressProxy: false,
    });
    return undefined;
  }
  const proxy = runProxy(egress, ctx.config, ctx.run.repo);
  try {
    await checkProxy(proxy.url, { expectedPortName: proxy.portName });
  } catch (err) {
    if (err instanceof ProxyUnavailableError) throw new RunFailure('egress_proxy_unavailable', err.message);
    throw err;
  }
  if (waitedMs > 0)
    await ctx.emit('note', `egress: waited ${Math.round(waitedMs / 1000)} s for the on-demand egress proxy to start`, {
      proxyWaitMs: Math.round(waitedMs),
    });
  await ctx.emit(
    'note',
    `egress: tools and the runner's GitHub traffic go through the egress proxy (port ${proxy.port}, allowlist "${proxy.portName}")`,
    {
      egressProxy: true,
      proxyPort: proxy.port,
      portName: proxy.portName,
    },
  );
  return proxy;
}

/**
 * An on-demand proxy (docs/network.md#on-demand-proxy) may still be starting when the runner is: while
 * its default port does not answer at all, check again every few seconds, for three minutes at most.
 * Nothing else can be done meanwhile: the broker and Step Functions are reached through the proxy too,
 * so no event and no heartbeat (the config keeps noProgressMinutes at 5 or more with an on-demand
 * proxy). A wrong answer is not waited on; the run's own check reports it. Resolves with the time
 * waited, 0 when the first check passed or the proxy is always on.
 */
async function waitForOnDemandProxy(ctx: RunContext): Promise<number> {
  const egress = ctx.deps.egress;
  if (!egress || ctx.config.network.proxy !== 'on-demand') return 0;
  const wait = egress.startWait ?? { checkMs: PROXY_START_CHECK_MS, maxChecks: PROXY_START_MAX_CHECKS };
  const started = performance.now();
  for (let check = 1; ; check++) {
    try {
      await checkProxy(egress.proxyBaseUrl);
      return check > 1 ? performance.now() - started : 0;
    } catch (err) {
      if (!(err instanceof ProxyUnavailableError) || !err.unreachable || proxyStartCheck(check, wait.maxChecks) === 'give-up')
        return performance.now() - started;
    }
    await delay(wait.checkMs, undefined, { signal: ctx.deps.stop }).catch(() => undefined);
    ctx.checkStop();
  }
}

/** The configuration's entry of the run's repository; a repository it does not name is refused. */
export function allowedRepo(ctx: RunContext): RepoSettings {
  const settings = repoSettings(ctx.config, ctx.run.repo);
  if (!settings) throw new RunFailure('repo_not_allowed', `${ctx.run.repo} is not in the configuration's repos`);
  return settings;
}

/** The run's installation token (redacted from all it writes from now on) and the GitHub API with it, through the run's proxy. */
export async function repoGitHub(
  ctx: RunContext,
  started: StartedRun,
  repo: string,
): Promise<{ token: GithubToken; proxyUrl: string | undefined; github: GithubApi }> {
  const { deps } = ctx;
  const token = await deps.tokens.tokenFor(ctx.run.runId);
  deps.redactor.add(token.token);
  const proxyUrl = started.proxy?.url;
  return { token, proxyUrl, github: deps.github(token.token, repo, proxyUrl) };
}

/**
 * The run's git over its workspace, to clone `cloneUrl` (https, or file for a local forge: nothing
 * else), and the repository's web address (none for a file clone).
 */
export function workspaceGit(
  started: StartedRun,
  token: GithubToken,
  proxyUrl: string | undefined,
  cloneUrl: string,
): { git: WorkspaceGit; webUrl: string | undefined } {
  const url = new URL(cloneUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'file:')
    throw new RunFailure('bad_clone_url', `refusing to clone over ${url.protocol}`);
  const { layout } = started;
  const git = new WorkspaceGit({
    gitDir: layout.gitDir,
    workTree: layout.repo,
    home: layout.runnerHome,
    token: token.token,
    ...(proxyUrl ? { proxyUrl } : {}),
  });
  const webUrl = url.protocol === 'https:' ? `${url.origin}${url.pathname.replace(/\.git$/, '').replace(/\/+$/, '')}` : undefined;
  return { git, webUrl };
}

/** Clones the repository shallowly and puts the checkout on the run branch (a new one, or the branch the run continues). */
export async function checkoutRepo(ctx: RunContext, started: StartedRun): Promise<RepoAccess> {
  const { run } = ctx;
  const settings = allowedRepo(ctx);
  const { token, proxyUrl, github } = await repoGitHub(ctx, started, settings.name);
  const info = await github.getRepo();
  const { git, webUrl } = workspaceGit(started, token, proxyUrl, info.cloneUrl);
  const baseBranch = run.baseBranch ?? info.defaultBranch;
  const { layout } = started;

  // A run that continues a branch starts from it; otherwise from the base branch on a new run branch.
  const continuing = run.branch;
  // A continued branch must be the run's to push before any work is done on it (and again before every push).
  if (continuing) await assertRunOwnsBranch(github, undefined, continuing, baseBranch);
  await git.clone(info.cloneUrl, continuing ?? baseBranch);
  if (continuing) {
    const aliasOf = await git.remoteAliasTarget(continuing);
    if (aliasOf) throw new RunFailure('branch_not_allowed', `refusing to push: ${continuing} is an alias of ${aliasOf}`);
  }
  // The git directory is the runner's: tools can neither read nor change it.
  chmodSync(layout.gitDir, 0o700);
  const baseCommit = await git.head();
  const branch = continuing ?? `nightshift/${run.runId}-${slugify(run.prompt, 40)}`;
  if (!continuing) await git.createBranch(branch);
  giveTreeTo(layout.repo, started.identity);
  await ctx.patchRun({ branch });
  await ctx.emit('note', `cloned ${run.repo} at ${baseCommit.slice(0, 12)}; working on ${branch}`, { baseBranch, baseCommit, branch });
  return new RepoAccess(ctx, git, github, token, branch, baseBranch, baseCommit, proxyUrl, webUrl);
}

/**
 * `.nightshift.yml` over the config's repo entry. A continued branch may hold agent-written commits,
 * so its settings file (setup and test commands that run with the repo's secrets) is read from the
 * default branch, never from the branch itself.
 */
export async function readRepoRules(
  ctx: RunContext,
  layout: WorkspaceLayout,
  repo: RepoAccess,
  options: { reviewedBranch?: boolean } = {},
): Promise<RepoRules> {
  let repoFile: NightshiftYml;
  try {
    // A review reads a pull request's branch, which is no more trusted than a continued one.
    if (ctx.run.branch || options.reviewedBranch) {
      const { defaultBranch } = await repo.github.getRepo();
      const text = await repo.git.fileOnRemoteBranch(defaultBranch, '.nightshift.yml', MAX_NIGHTSHIFT_YML_BYTES);
      repoFile = text === undefined ? {} : parseNightshiftYml(text);
      await ctx.emit(
        'note',
        `.nightshift.yml read from the default branch ${defaultBranch}, not from the ${options.reviewedBranch ? 'reviewed' : 'continued'} branch ${repo.branch}`,
        { settingsFrom: defaultBranch },
      );
    } else repoFile = readNightshiftYml(layout.repo);
  } catch (err) {
    if (err instanceof RepoSettingsFileError) throw new RunFailure('bad_repo_settings', err.message);
    if (err instanceof GitCommandError && err.exitCode === null)
      throw new RunFailure('bad_repo_settings', `.nightshift.yml: ${err.stderr}`);
    throw err;
  }
  const settings = repoSettings(ctx.config, ctx.run.repo)!;
  return {
    repoFile,
    testCommand: repoFile.test ?? settings.test,
    protectedPaths: new ProtectedPaths([...DEFAULT_PROTECTED_PATHS, ...(repoFile.protectedPaths ?? [])], repoFile.allowedPaths),
  };
}

/** The repo's named secrets from the broker, into the environments of the runner's own commands (never the agent's tools). */
export async function loadCommandEnvironments(ctx: RunContext, toolEnv: Record<string, string>): Promise<CommandEnvironments> {
  const { deps, run } = ctx;
  const settings = repoSettings(ctx.config, run.repo)!;
  const variables = Object.keys(settings.secrets ?? {});
  if (variables.length === 0) return { commandEnv: toolEnv, headTestEnv: toolEnv };
  if (!deps.secrets) throw new RunFailure('secret_unavailable', 'the repo has named secrets but the runner has no secret source');
  let values: Record<string, string>;
  try {
    values = await readRepoSecrets({ repository: run.repo, variables }, run.runId, deps.secrets, Object.keys(toolEnv));
  } catch (err) {
    if (err instanceof RepoSecretError) throw new RunFailure('secret_unavailable', err.message);
    throw err;
  }
  for (const value of Object.values(values)) deps.redactor.add(value);
  const commandEnv = { ...toolEnv, ...values };
  const inHeadTests = settings.secretsInHeadTests;
  await ctx.emit(
    'note',
    `secrets: ${variables.join(', ')} offered to the setup commands and the tests at base${inHeadTests ? ' and at head (secretsInHeadTests)' : ' only'}`,
    {
      secrets: variables,
      secretsInHeadTests: inHeadTests,
    },
  );
  return { commandEnv, headTestEnv: inHeadTests ? commandEnv : toolEnv };
}

/**
 * Runs the config's then the repository's setup commands; their notes go into the task message. With
 * a setup cache (runner/session/setup-cache.ts), an entry for this key replaces the commands, and a
 * successful setup without one is saved before anything else runs.
 */
export async function runSetup(ctx: RunContext, prepared: PreparedRun): Promise<string[]> {
  const settings = repoSettings(ctx.config, ctx.run.repo)!;
  const commands = [...settings.setup, ...(prepared.rules.repoFile.setup ?? [])];
  const cache = ctx.deps.setupCache && commands.length > 0 && settings.setupCache ? ctx.deps.setupCache(ctx.run.repo) : undefined;
  const key = cache ? runSetupCacheKey(ctx, prepared, commands, cache.image) : undefined;
  if (cache && key && (await restoreSetup(ctx, prepared, cache, key))) {
    return [
      `setup restored from the setup cache (the commands ${commands.map((c) => `\`${c}\``).join(', ')} succeeded on the same lockfiles and were not run again)`,
    ];
  }
  const { notes, succeeded } = await runSetupCommands(ctx, prepared, commands);
  if (cache && key && succeeded) await saveSetup(ctx, prepared, cache, key);
  return notes;
}

async function runSetupCommands(
  ctx: RunContext,
  prepared: PreparedRun,
  commands: readonly string[],
): Promise<{ notes: string[]; succeeded: boolean }> {
  const notes: string[] = [];
  let succeeded = true;
  for (const command of commands) {
    ctx.checkStop();
    await announceToolStart(ctx, { name: 'setup', input: { command }, turn: 0 });
    const result = await ctx.withHeartbeats((signal) =>
      runSandboxed(
        { command, cwd: prepared.layout.repo, timeoutMs: ctx.withinTimeBox(SETUP_TIMEOUT_SECONDS) * 1_000, signal },
        prepared.identity,
        prepared.commandEnv,
      ),
    );
    if (result.aborted) throw new Interrupted('stopped during setup');
    const status = result.timedOut ? 'timed out' : `exit code ${result.exitCode}`;
    notes.push(`\`${command}\`: ${status}${result.exitCode === 0 ? '' : `\n${result.output.slice(-2_000)}`}`);
    ctx.trace.record({
      type: 'tool_call',
      turn: 0,
      name: 'setup',
      input: { command },
      durationMs: result.durationMs,
      exitCode: result.exitCode,
      isError: result.exitCode !== 0,
      output: result.output,
    });
    await ctx.emit('tool_call', `setup: ${command} → ${status}`, {
      name: 'setup',
      command,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      output: result.output.slice(-2_000),
    });
    await ctx.heartbeat();
    if (result.exitCode !== 0) succeeded = false;
  }
  return { notes, succeeded };
}
