import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { parse as parseYaml } from 'yaml';
import type { NightshiftConfig } from '../core/config/schema';
import { classifyDiff } from '../core/console/risky-diff';
import { submitFormSettings } from '../core/console/submit-form';
import type { RunView } from '../core/runs/schemas';
import { createConsoleHost, type ConsoleConfig, type ConsoleDiffs, type ConsoleHandler } from '../console/server/console-host';
import { NightshiftYml } from '../runner/repo/repo-settings-file';
import { DEFAULT_PROTECTED_PATHS, ProtectedPaths } from '../runner/tools/protected-paths';
import { bareRepoPath, branchHead, defaultBranchOf, getPull } from './forge';

/**
 * The web console in local mode (docs/console.md, docs/local-mode.md): served at `/` by the API server on the same port.
 * `/v1` stays the API's; the console's diffs and pull requests come from the local forge's bare
 * repositories.
 */
export interface LocalConsoleOptions {
  config: NightshiftConfig;
  forgeRoot: string;
  /** The API's own URL (known once it listens). */
  apiUrl: () => string;
  port: () => number;
}

export function createLocalConsole(options: LocalConsoleOptions): ConsoleHandler {
  const { config } = options;
  const consoleConfig: ConsoleConfig = {
    mode: 'local',
    api: 'local mode',
    ...submitFormSettings(config),
    diffs: true,
  };
  return createConsoleHost({
    config: () => consoleConfig,
    port: options.port,
    // Local mode has one identity; the API answers this request exactly as it answers the page.
    callApi: async (path) => {
      const response = await fetch(`${options.apiUrl()}${path}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
      return { status: response.status, body: await response.text() };
    },
    diffs: forgeDiffs(options.forgeRoot),
  });
}

/** Diffs of the local forge: `git diff base...head` in the bare repository, risky lines marked. */
export function forgeDiffs(forgeRoot: string): ConsoleDiffs {
  const diffOf = async (repo: string, base: string, head: string) => {
    const bare = bareRepoPath(forgeRoot, repo);
    if (!branchHead(bare, head) || !branchHead(bare, base)) return undefined;
    const text = await git(bare, ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-M', `refs/heads/${base}...refs/heads/${head}`, '--']);
    const protectedPaths = await protectedPathsAt(bare, base);
    return { repo, base, head, diff: classifyDiff(text, { protectedMatch: (path) => protectedPaths.match(path) }) };
  };
  return {
    async runDiff(run: RunView) {
      if (!run.branch) return undefined;
      let base = run.baseBranch;
      try {
        base ??= defaultBranchOf(bareRepoPath(forgeRoot, run.repo));
      } catch {
        return undefined;
      }
      return diffOf(run.repo, base, run.branch);
    },
    async pull(repo, number) {
      const pull = getPull(forgeRoot, repo, number);
      if (!pull) return undefined;
      const diff = await diffOf(repo, pull.base, pull.head);
      return {
        repo,
        number: pull.number,
        title: pull.title,
        body: pull.body,
        state: pull.state,
        draft: pull.draft,
        base: pull.base,
        head: pull.head,
        createdAt: pull.createdAt,
        diff: diff?.diff ?? { files: [], riskyLines: 0, truncated: false },
      };
    },
  };
}

/** The runner's protected paths for this repository: the defaults and `.nightshift.yml` of the base branch. */
async function protectedPathsAt(bare: string, base: string): Promise<ProtectedPaths> {
  let extra: string[] = [];
  try {
    const text = await git(bare, ['show', `refs/heads/${base}:.nightshift.yml`]);
    const parsed = NightshiftYml.safeParse(parseYaml(text));
    if (parsed.success) extra = parsed.data.protectedPaths ?? [];
  } catch {
    // No .nightshift.yml at base (or not YAML): the defaults apply, as for the runner.
  }
  return new ProtectedPaths([...DEFAULT_PROTECTED_PATHS, ...extra]);
}

const MAX_DIFF_BYTES = 32 * 1024 * 1024;

function git(bare: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['--git-dir', bare, ...args],
      {
        encoding: 'utf8',
        maxBuffer: MAX_DIFF_BYTES,
        timeout: 30_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}
