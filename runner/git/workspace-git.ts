import { execFile } from 'node:child_process';

/**
 * The runner's own git: every command runs as the runner (never as the tool user), with the git
 * directory kept outside the tool-writable checkout (`--separate-git-dir`, then explicit
 * `--git-dir`/`--work-tree`), so model-written code cannot plant hooks, filters, fsmonitor or
 * `insteadOf` rewrites that the runner would execute or follow with its token.
 *
 * The GitHub token is handed to git per command as an `http.extraHeader` through git's
 * GIT_CONFIG_COUNT/KEY/VALUE environment (the environment form of `git -c`): never written to
 * `.git/config` or a file, and not on the command line, where any local user could read it in
 * /proc/<pid>/cmdline. Only the runner's uid can read its child's environment.
 */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args[0]} failed (exit ${exitCode}): ${stderr.trim().slice(0, 500)}`);
    this.name = 'GitCommandError';
  }
}

export interface GitIdentity {
  name: string;
  email: string;
}

export const NIGHTSHIFT_BOT: GitIdentity = { name: 'Nightshift', email: 'nightshift-bot@users.noreply.github.com' };

export interface WorkspaceGitOptions {
  gitDir: string;
  workTree: string;
  /** Directory git may use as HOME (private to the runner). */
  home: string;
  token?: string;
  proxyUrl?: string;
  timeoutMs?: number;
}

export class WorkspaceGit {
  constructor(private readonly options: WorkspaceGitOptions) {}

  /** A fresh token for the next authenticated command (installation tokens expire after an hour). */
  setToken(token: string): void {
    this.options.token = token;
  }

  private environment(withToken: boolean): NodeJS.ProcessEnv {
    const config: [string, string][] = [
      ['safe.directory', '*'],
      ['core.hooksPath', '/dev/null'],
      ['core.fsmonitor', 'false'],
      ['protocol.ext.allow', 'never'],
      ['submodule.recurse', 'false'],
      ['commit.gpgSign', 'false'],
    ];
    if (this.options.proxyUrl) config.push(['http.proxy', this.options.proxyUrl]);
    if (withToken && this.options.token) {
      const basic = Buffer.from(`x-access-token:${this.options.token}`).toString('base64');
      config.push(['http.extraHeader', `Authorization: Basic ${basic}`]);
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.options.home,
      LANG: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '/bin/false',
      GIT_CONFIG_COUNT: String(config.length),
      // A local forge or mirror on loopback is reached directly; libcurl reads no_proxy even with http.proxy.
      ...(this.options.proxyUrl ? { NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1' } : {}),
    };
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    return env;
  }

  /** Runs git without a repository (clone). */
  raw(args: readonly string[], options: { withToken?: boolean; cwd?: string } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...args],
        {
          cwd: options.cwd,
          env: this.environment(options.withToken ?? false),
          timeout: this.options.timeoutMs ?? 300_000,
          maxBuffer: 64 * 1024 * 1024,
          killSignal: 'SIGKILL',
        },
        (err, stdout, stderr) => {
          if (err) reject(new GitCommandError(args, typeof err.code === 'number' ? err.code : null, stderr));
          else resolve(stdout);
        },
      );
    });
  }

  run(args: readonly string[], options: { withToken?: boolean } = {}): Promise<string> {
    return this.raw(['--git-dir', this.options.gitDir, '--work-tree', this.options.workTree, ...args], {
      ...options,
      cwd: this.options.workTree,
    });
  }

  async clone(url: string, branch: string): Promise<void> {
    await this.raw(
      [
        'clone',
        '--quiet',
        '--depth',
        '1',
        '--single-branch',
        '--no-tags',
        '--branch',
        branch,
        '--separate-git-dir',
        this.options.gitDir,
        '--',
        url,
        this.options.workTree,
      ],
      { withToken: true },
    );
  }

  async head(): Promise<string> {
    return (await this.run(['rev-parse', 'HEAD'])).trim();
  }

  async createBranch(branch: string): Promise<void> {
    await this.run(['checkout', '--quiet', '-b', branch]);
  }

  /** Stages every change of the checkout; returns the staged paths with their status against `base`. */
  async stageAll(): Promise<void> {
    await this.run(['add', '--all', '--', '.']);
  }

  async stagedChanges(base: string): Promise<{ status: string; path: string }[]> {
    const out = await this.run(['diff', '--cached', '--name-status', '--no-renames', '-z', base]);
    const parts = out.split('\0').filter((p) => p !== '');
    const changes: { status: string; path: string }[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) changes.push({ status: parts[i]!, path: parts[i + 1]! });
    return changes;
  }

  /** Drops paths from the next commit (they keep the committed version). */
  async unstage(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.run(['reset', '--quiet', 'HEAD', '--', ...paths]);
  }

  async hasStagedChanges(): Promise<boolean> {
    try {
      await this.run(['diff', '--cached', '--quiet']);
      return false;
    } catch (err) {
      if (err instanceof GitCommandError && err.exitCode === 1) return true;
      throw err;
    }
  }

  async commit(message: string, identity: GitIdentity = NIGHTSHIFT_BOT): Promise<string> {
    await this.run([
      '-c',
      `user.name=${identity.name}`,
      '-c',
      `user.email=${identity.email}`,
      'commit',
      '--quiet',
      '--no-verify',
      '-m',
      message,
    ]);
    return this.head();
  }

  /**
   * A file as it is on another branch of origin (fetched shallowly into a private ref), without
   * checking it out: undefined when the branch has no such file. Only a regular file is returned.
   */
  async fileOnRemoteBranch(branch: string, path: string, maxBytes: number): Promise<string | undefined> {
    const ref = 'refs/nightshift/settings-source';
    await this.run(['fetch', '--quiet', '--depth', '1', '--no-tags', 'origin', `+refs/heads/${branch}:${ref}`], { withToken: true });
    const entry = (await this.run(['ls-tree', '-l', ref, '--', path])).trim();
    if (entry === '') return undefined;
    const m = /^(\d+) (\w+) ([0-9a-f]+)\s+(-|\d+)\t/.exec(entry);
    if (!m || m[2] !== 'blob' || (m[1] !== '100644' && m[1] !== '100755'))
      throw new GitCommandError(['ls-tree'], null, `${path} on ${branch} is not a regular file`);
    if (Number(m[4]) > maxBytes) throw new GitCommandError(['ls-tree'], null, `${path} on ${branch} is larger than ${maxBytes} bytes`);
    return this.run(['cat-file', 'blob', m[3]!]);
  }

  /**
   * Fetches `refs/heads/<branch>` of origin into `ref`: `depth` commits from its tip, or `deepen`
   * more commits below the current shallow boundary of every ref fetched (the checkout's too).
   */
  async fetchShallow(refspecs: readonly { branch: string; ref: string }[], how: { depth: number } | { deepen: number }): Promise<void> {
    const depth = 'depth' in how ? ['--depth', String(how.depth)] : ['--deepen', String(how.deepen)];
    await this.run(
      ['fetch', '--quiet', ...depth, '--no-tags', 'origin', ...refspecs.map(({ branch, ref }) => `+refs/heads/${branch}:${ref}`)],
      { withToken: true },
    );
  }

  /** The best common ancestor of two commits in the history fetched so far; undefined when none is there. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    try {
      return (await this.run(['merge-base', a, b])).trim();
    } catch (err) {
      if (err instanceof GitCommandError && err.exitCode === 1) return undefined;
      throw err;
    }
  }

  /** The ref `refs/heads/<branch>` on origin points at when it is a symbolic ref (an alias of another branch); undefined otherwise. */
  async remoteAliasTarget(branch: string): Promise<string | undefined> {
    const out = await this.run(['ls-remote', '--symref', 'origin', `refs/heads/${branch}`], { withToken: true });
    const m = /^ref: (\S+)\t/m.exec(out);
    return m ? m[1] : undefined;
  }

  /** Pushes HEAD to exactly `refs/heads/<branch>` on origin, never forced. */
  async push(branch: string): Promise<void> {
    await this.run(['push', '--quiet', '--no-verify', 'origin', `HEAD:refs/heads/${branch}`], { withToken: true });
  }
}
