import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  SETUP_CACHE_LOCKFILES,
  SETUP_CACHE_RETENTION_DAYS,
  setupCacheKey,
  setupCacheObjectKey,
  type SetupCacheKey,
} from '../../core/setup-cache';
import { giveTreeTo } from '../workspace';
import type { RunContext } from './run-context';
import type { SetupCacheSettings, SetupCacheStore } from './setup-cache-store';
import type { PreparedRun } from './prepared-run';

/**
 * The setup cache's phase (core/setup-cache.ts has the key): before setup, restore what a previous
 * successful setup of the same repository, scope, lockfiles, commands and image added to the checkout,
 * and skip the commands; after a successful setup that found nothing, save what it added. Saved
 * before the base tests and the agent run, so no agent-written file is ever in an entry; an entry
 * holding any secret value the run knows is not saved.
 */

/** Entries larger than this are not saved (a restore must stay much faster than the install it replaces). */
const MAX_ENTRY_BYTES = 2 * 1024 ** 3;
/** A lockfile is hashed up to this size; a larger one is not a lockfile the cache keys on. */
const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

/** Local mode: entries as files under `<root>/setup-cache/<owner>/<name>/<key>.tar.gz`, the S3 layout. */
export function directorySetupCacheStore(root: string, repo: string): SetupCacheStore {
  const pathOf = (key: SetupCacheKey) => join(root, setupCacheObjectKey(repo, key));
  return {
    async fetch(key, file) {
      const entry = pathOf(key);
      if (!existsSync(entry)) return false;
      await pipeline(createReadStream(entry), createWriteStream(file, { mode: 0o600 }));
      return true;
    },
    async save(key, file) {
      const entry = pathOf(key);
      mkdirSync(dirname(entry), { recursive: true, mode: 0o700 });
      removeExpired(dirname(entry));
      try {
        // A hard link is atomic and fails if the entry exists: the first writer wins, as with S3's If-None-Match.
        linkSync(file, entry);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        const staged = `${entry}.${process.pid}.tmp`;
        await pipeline(createReadStream(file), createWriteStream(staged, { mode: 0o600 }));
        try {
          linkSync(staged, entry);
        } catch (linkErr) {
          if ((linkErr as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
          throw linkErr;
        } finally {
          rmSync(staged, { force: true });
        }
      }
      return 'saved';
    },
  };
}

function removeExpired(dir: string): void {
  const cutoff = Date.now() - SETUP_CACHE_RETENTION_DAYS * 86_400_000;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).mtimeMs < cutoff) rmSync(path, { force: true });
  }
}

/** Presigned URLs for one entry, as the broker issues them (runner/broker-run-data.ts). */
export interface SetupCacheUrls {
  readUrl(key: SetupCacheKey): Promise<string>;
  writeUrl(key: SetupCacheKey): Promise<{ url: string; headers: Record<string, string> }>;
}

/** AWS: S3 through presigned URLs the broker issues for the run's own repository's prefix only. */
export function presignedSetupCacheStore(urls: SetupCacheUrls, http: typeof fetch = fetch): SetupCacheStore {
  return {
    async fetch(key, file) {
      const response = await http(await urls.readUrl(key));
      // A missing object answers 403 to a GET presigned without ListBucket: both mean "no entry".
      if (response.status === 404 || response.status === 403) return false;
      // The URL carries a signature: never in the message.
      if (!response.ok || !response.body) throw new Error(`reading the setup cache failed: HTTP ${response.status}`);
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(file, { mode: 0o600 }));
      return true;
    },
    async save(key, file) {
      const { url, headers } = await urls.writeUrl(key);
      const size = statSync(file).size;
      const response = await http(url, {
        method: 'PUT',
        headers: { ...headers, 'content-length': String(size) },
        body: Readable.toWeb(createReadStream(file)) as unknown as RequestInit['body'],
        duplex: 'half',
      } as RequestInit);
      if (response.status === 412) return 'exists';
      if (!response.ok) throw new Error(`storing the setup cache failed: HTTP ${response.status}`);
      return 'saved';
    },
  };
}

/** The run's key: the lockfiles in its checkout, its setup commands, the scope its code came from and the image. */
export function runSetupCacheKey(ctx: RunContext, prepared: PreparedRun, commands: readonly string[], image: string): SetupCacheKey {
  const lockfiles: Record<string, string> = {};
  for (const name of SETUP_CACHE_LOCKFILES) {
    const path = join(prepared.layout.repo, name);
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    // A symlink or a huge file is not a lockfile: the key says "not present", and such a repo still runs its setup.
    if (!stat.isFile() || stat.size > MAX_LOCKFILE_BYTES) continue;
    lockfiles[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  // A branch this run created starts from the base branch's code; a continued branch is its own scope.
  const created = prepared.repo.branch.startsWith(`nightshift/${ctx.run.runId}-`);
  const scope = created ? `base:${prepared.repo.baseBranch}` : `branch:${prepared.repo.branch}`;
  return setupCacheKey({ repo: ctx.run.repo, scope, lockfiles, setupCommands: commands, image });
}

/**
 * Restores the entry of `key` into the checkout. True when it did: the setup commands are then not run.
 * A store that cannot be read is a miss with a note, never a failed run.
 */
export async function restoreSetup(
  ctx: RunContext,
  prepared: PreparedRun,
  settings: SetupCacheSettings,
  key: SetupCacheKey,
): Promise<boolean> {
  const archive = join(prepared.layout.runnerHome, 'setup-cache-restore.tar.gz');
  const started = performance.now();
  try {
    if (!(await settings.store.fetch(key, archive))) {
      await ctx.emit('note', `setup cache: no entry for key ${key.slice(0, 12)}; running setup`, { setupCache: 'miss', key });
      return false;
    }
    // GNU tar refuses members with "..", strips leading "/", and creates symlinks only after every
    // file, so no member can be written through a link. Owners are not restored: the tree is the tool user's.
    const untar = spawnSync('tar', ['-xzf', archive, '-C', prepared.layout.repo, '--no-same-owner', '--no-same-permissions'], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    });
    if (untar.status !== 0) throw new Error(`tar exited with ${untar.status ?? untar.signal}: ${untar.stderr.slice(-500)}`);
    giveTreeTo(prepared.layout.repo, prepared.identity);
    const bytes = statSync(archive).size;
    await ctx.emit(
      'note',
      `setup cache: restored ${formatBytes(bytes)} (key ${key.slice(0, 12)}) in ${Math.round(performance.now() - started)} ms; the setup commands were not run`,
      {
        setupCache: 'hit',
        key,
        bytes,
        durationMs: Math.round(performance.now() - started),
      },
    );
    return true;
  } catch (err) {
    await ctx.emit('note', `setup cache: could not restore (${(err as Error).message}); running setup`, { setupCache: 'error', key });
    return false;
  } finally {
    rmSync(archive, { force: true });
  }
}

/** Saves what the (successful) setup added to the checkout: untracked and ignored files, as the runner's git sees them. */
export async function saveSetup(ctx: RunContext, prepared: PreparedRun, settings: SetupCacheSettings, key: SetupCacheKey): Promise<void> {
  const { layout } = prepared;
  const archive = join(layout.runnerHome, 'setup-cache-save.tar.gz');
  const list = join(layout.runnerHome, 'setup-cache-files');
  const started = performance.now();
  try {
    const files = addedFiles(layout.gitDir, layout.repo);
    if (files.length === 0) {
      await ctx.emit('note', 'setup cache: the setup added no files; nothing to save', { setupCache: 'empty', key });
      return;
    }
    let total = 0;
    for (const file of files) {
      const stat = lstatSync(join(layout.repo, file));
      if (!stat.isFile()) continue;
      total += stat.size;
      if (total > MAX_ENTRY_BYTES) {
        await ctx.emit('note', `setup cache: not saved, the setup added more than ${formatBytes(MAX_ENTRY_BYTES)}`, {
          setupCache: 'too_large',
          key,
        });
        return;
      }
      // The setup ran with the repo's secrets: a file holding one (an .npmrc with a token) is never cached.
      if (ctx.deps.redactor.containsKnownSecret(readFileSync(join(layout.repo, file), 'utf8'))) {
        await ctx.emit('note', `setup cache: not saved, ${JSON.stringify(file)} holds a secret value`, { setupCache: 'secret', key, file });
        return;
      }
    }
    writeFileSync(list, `${files.join('\0')}\0`, { mode: 0o600 });
    await runTar(['-czf', archive, '-C', layout.repo, '--null', '--no-recursion', '-T', list]);
    const bytes = statSync(archive).size;
    const outcome = await settings.store.save(key, archive);
    await ctx.emit(
      'note',
      `setup cache: ${outcome === 'saved' ? 'saved' : 'already saved by another run:'} ${files.length} files, ${formatBytes(bytes)} (key ${key.slice(0, 12)}) in ${Math.round(performance.now() - started)} ms`,
      {
        setupCache: outcome,
        key,
        files: files.length,
        bytes,
        durationMs: Math.round(performance.now() - started),
      },
    );
  } catch (err) {
    await ctx.emit('note', `setup cache: not saved (${(err as Error).message})`, { setupCache: 'error', key });
  } finally {
    rmSync(archive, { force: true });
    rmSync(list, { force: true });
  }
}

/** Paths (relative to the checkout) git does not track: what the setup added, ignored files included. */
function addedFiles(gitDir: string, workTree: string): string[] {
  const result = spawnSync('git', ['--git-dir', gitDir, '--work-tree', workTree, 'ls-files', '--others', '-z'], {
    cwd: workTree,
    maxBuffer: 512 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`git ls-files exited with ${result.status ?? result.signal}`);
  return result.stdout
    .toString('utf8')
    .split('\0')
    .filter((f) => f !== '')
    .sort();
}

function runTar(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`tar exited with ${code ?? signal}: ${stderr.slice(-500)}`)),
    );
  });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
