import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { NightshiftConfig } from '../core/config/schema';
import { submitFormSettings } from '../core/console/submit-form';
import type { RunView } from '../core/runs/schemas';
import { createConsoleHost, type ConsoleConfig, type ConsoleDiffs, type ConsoleHandler } from '../console/server/console-host';
import { protectedPathsOfNightshiftYml } from '../console/server/nightshift-yml-paths';
import { classifiedRunDiff } from '../console/server/run-diff';
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
      const response = await fetch(`${options.apiUrl()}${path}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(30_000),
      });
      return { status: response.status, body: await response.text() };
    },
    diffs: forgeDiffs(options.forgeRoot),
  });
}

/** Diffs of the local forge: `git diff base...head` in the bare repository, risky lines marked. */
export function forgeDiffs(forgeRoot: string): Required<ConsoleDiffs> {
  const diffOf = async (repo: string, base: string, head: string) => {
    const bare = bareRepoPath(forgeRoot, repo);
    if (!branchHead(bare, head) || !branchHead(bare, base)) return undefined;
    const diffText = await git(bare, [
      'diff',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '-M',
      `refs/heads/${base}...refs/heads/${head}`,
      '--',
    ]);
    return classifiedRunDiff({
      repo,
      base,
      head,
      diffText,
      protectedPaths: protectedPathsOfNightshiftYml(await nightshiftYmlAt(bare, base)),
    });
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

/** `.nightshift.yml` of the base branch, whose protected paths mark risky lines; null when there is none. */
async function nightshiftYmlAt(bare: string, base: string): Promise<string | null> {
  try {
    return await git(bare, ['show', `refs/heads/${base}:.nightshift.yml`]);
  } catch {
    return null;
  }
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
