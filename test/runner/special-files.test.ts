import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { buildToolEnvironment } from '../../runner/isolation/tool-environment';
import { ProtectedPaths } from '../../runner/tools/protected-paths';
import { executeTool, type ToolContext } from '../../runner/tools/tool-executor';

/**
 * Issue 10 item 7, every kind of special file: the file tools (read_file, write_file, edit_file)
 * refuse a FIFO, a unix domain socket, a directory, a file with more than one hard link and a
 * character device, with a message that says why; none of them blocks (a FIFO opened without
 * O_NONBLOCK would freeze the event loop: a watchdog process then opens the FIFO after a few seconds
 * so that the test fails on its time instead of hanging), and nothing on disk changes.
 */

type Kind = 'fifo' | 'socket' | 'directory' | 'hard link' | 'character device';
type Tool = 'read_file' | 'write_file' | 'edit_file';

const isRoot = process.getuid?.() === 0;
/** mknod needs CAP_MKNOD: root, and a container that grants it. */
function canMknod(dir: string): boolean {
  if (!isRoot) return false;
  try {
    execFileSync('mknod', [join(dir, 'probe'), 'c', '1', '3'], { stdio: 'ignore' });
    rmSync(join(dir, 'probe'));
    return true;
  } catch {
    return false;
  }
}

const probeDir = mkdtempSync(join(tmpdir(), 'nightshift-mknod-'));
const deviceSupported = canMknod(probeDir);
rmSync(probeDir, { recursive: true, force: true });

const kinds: readonly Kind[] = ['fifo', 'socket', 'directory', 'hard link', 'character device'];
const tools: readonly Tool[] = ['read_file', 'write_file', 'edit_file'];
const pathOf: Record<Kind, string> = {
  fifo: 'pipe',
  socket: 'sock',
  directory: 'dir',
  'hard link': 'linked.txt',
  'character device': 'zero',
};

const expectedMessage = (kind: Kind, tool: Tool): RegExp => {
  if (kind === 'hard link') return /refused: the file has more than one hard link/;
  if (kind === 'directory') return tool === 'read_file' ? /^dir is a directory; use list_files/ : /^refused: dir is a directory$/;
  return /^refused: not a regular file \(a FIFO, socket, device or directory\)$/;
};

describe('the file tools refuse every kind of special file, at once, and change nothing', () => {
  let root: string;
  let repo: string;
  let outside: string;
  let ctx: ToolContext;
  let server: Server;

  /** What a kind of file is on disk: its inode, type, links, size, times and, where it has one, its content. */
  const stateOf = (kind: Kind): unknown => {
    const path = join(repo, pathOf[kind]);
    const s = lstatSync(path);
    const base = { ino: s.ino, mode: s.mode, nlink: s.nlink, size: s.size, mtimeMs: s.mtimeMs, rdev: s.rdev };
    if (kind === 'directory') return { ...base, entries: readdirSync(path).sort() };
    if (kind === 'hard link') return { ...base, content: readFileSync(path, 'utf8'), outside: readFileSync(outside, 'utf8') };
    return base;
  };
  const repoEntries = () => readdirSync(repo).sort();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'nightshift-special-'));
    repo = join(root, 'repo');
    mkdirSync(join(repo, 'dir'), { recursive: true });
    writeFileSync(join(repo, 'dir', 'inside.txt'), 'inside\n');
    // A hard link to a file outside the repository (what the runner, as root, must not read or write through).
    outside = join(root, 'outside-secret.txt');
    writeFileSync(outside, 'outside the repository\n');
    linkSync(outside, join(repo, 'linked.txt'));
    execFileSync('mkfifo', [join(repo, 'pipe')]);
    server = createServer();
    await new Promise<void>((resolve) => server.listen(join(repo, 'sock'), resolve));
    // /dev/zero: a read that never ends if the runner opened it.
    if (deviceSupported) execFileSync('mknod', [join(repo, 'zero'), 'c', '1', '5']);
    const self = userInfo();
    ctx = {
      repoRoot: repo,
      protectedPaths: new ProtectedPaths([]),
      identity: { kind: 'same', user: self.username, uid: self.uid, gid: self.gid, reason: 'test' },
      env: buildToolEnvironment({ home: root, user: self.username }),
      signal: new AbortController().signal,
      outputDir: join(root, 'tool-output'),
      gitFiles: async () => [],
    };
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  const inputOf = (tool: Tool, path: string) =>
    tool === 'read_file'
      ? { path }
      : tool === 'write_file'
        ? { path, content: 'overwritten by the agent\n' }
        : { path, oldText: 'outside', newText: 'changed' };

  /**
   * A process that, after `afterMs`, opens the FIFO for reading and writing (which releases a reader or
   * a writer blocked on it) and closes it a moment later: a tool that blocked then returns late, and the
   * test fails on the elapsed time rather than freezing the test runner.
   */
  const watchdog = (afterMs: number): ChildProcess =>
    spawn('sh', ['-c', `sleep ${afterMs / 1000}; exec 3<>"$1"; sleep 0.5; exec 3>&-`, 'watchdog', join(repo, 'pipe')], {
      stdio: 'ignore',
      detached: true,
    });
  /** Ends the watchdog's process group (its `sleep` holds the FIFO open too), so that no case finds another case's opener. */
  const stopWatchdog = async (guard: ChildProcess): Promise<void> => {
    const exited = new Promise<void>((resolve) =>
      guard.exitCode !== null || guard.signalCode !== null ? resolve() : guard.once('exit', () => resolve()),
    );
    try {
      if (guard.pid !== undefined) process.kill(-guard.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  };

  const cases = kinds.flatMap((kind) => tools.map((tool) => [kind, tool] as const));
  const runnable = cases.filter(([kind]) => kind !== 'character device' || deviceSupported);
  const unrunnable = cases.filter((c) => !runnable.includes(c));
  it.each(runnable)(
    'Given a %s, When %s is called on it, Then it is refused with why, without blocking, and nothing changes',
    async (kind, tool) => {
      const before = { file: stateOf(kind), entries: repoEntries() };
      const guard = kind === 'fifo' ? watchdog(3_000) : undefined;
      const started = Date.now();
      try {
        const outcome = await executeTool(tool, inputOf(tool, pathOf[kind]), ctx);
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(outcome.isError).toBe(true);
        expect(outcome.text).toMatch(expectedMessage(kind, tool));
      } finally {
        if (guard) await stopWatchdog(guard);
      }
      expect({ file: stateOf(kind), entries: repoEntries() }).toEqual(before);
    },
  );
  // Without root (or without CAP_MKNOD in the container) no device node can be made to test with.
  if (unrunnable.length > 0)
    it.skip.each(unrunnable)(
      'Given a %s, When %s is called on it, Then it is refused (skipped: mknod needs root with CAP_MKNOD)',
      () => undefined,
    );

  it('Given a regular single-link file, When it is read, written and edited, Then each works (the refusals are not blanket)', async () => {
    writeFileSync(join(repo, 'plain.txt'), 'outside plain\n');
    expect(await executeTool('read_file', { path: 'plain.txt' }, ctx)).toMatchObject({ isError: false });
    expect(await executeTool('edit_file', { path: 'plain.txt', oldText: 'outside', newText: 'inside' }, ctx)).toMatchObject({
      isError: false,
    });
    expect(await executeTool('write_file', { path: 'plain.txt', content: 'new\n' }, ctx)).toMatchObject({ isError: false });
    expect(readFileSync(join(repo, 'plain.txt'), 'utf8')).toBe('new\n');
    rmSync(join(repo, 'plain.txt'));
  });
});
