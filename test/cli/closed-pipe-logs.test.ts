import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBin, devPlatforms, repoRoot, runCli } from '../local/dev-process';
import { fastSession, sampleRepo } from '../local/platform-harness';

/**
 * The reader of `nightshift logs <runId> | head -1`, made deterministic: it shrinks the pipe to one
 * page (4096 bytes, F_SETPIPE_SZ), then tells the producer's side through the READY fifo that the CLI
 * may start (a pipe that already holds more than a page cannot shrink: EBUSY), reads exactly one line,
 * then closes it. Whatever the CLI writes past the page meets a closed pipe (EPIPE), however fast it writes.
 */
const oneLineReader = `
import fcntl, os, sys
fcntl.fcntl(0, fcntl.F_SETPIPE_SZ, 4096)
with open(os.environ['READY'], 'w') as ready:
    ready.write('go\\n')
line = b''
while not line.endswith(b'\\n'):
    byte = os.read(0, 1)
    if not byte:
        break
    line += byte
os.close(0)
sys.stdout.buffer.write(line)
`;

/** `producer | python3 reader` in a shell, the producer started once the reader is ready; the exit status of each side. */
function pipeline(args: string[], api: string) {
  const ready = join(mkdtempSync(join(tmpdir(), 'closed-pipe-')), 'ready');
  return new Promise<{ stdout: string; stderr: string; cli: number; reader: number }>((resolve) => {
    const script =
      'mkfifo "$READY"; { read -r _ < "$READY"; exec "$NODE" "$CLI" "$@"; } | python3 -c "$READER"; ' +
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash expands ${PIPESTATUS[...]}, not JavaScript
      'echo "status ${PIPESTATUS[0]} ${PIPESTATUS[1]}" >&3';
    const child = spawn('bash', ['-c', script, 'pipeline', ...args], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NIGHTSHIFT_API: api,
        NODE: process.execPath,
        CLI: cliBin,
        READER: oneLineReader,
        READY: ready,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let status = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdio[3]!.on('data', (c: Buffer) => (status += c.toString()));
    child.once('close', () => {
      const [, cli, reader] = /^status (\d+) (\d+)/.exec(status) ?? [];
      resolve({ stdout, stderr, cli: Number(cli), reader: Number(reader) });
    });
  });
}

/** Issue 16 item 6: no stack trace on a closed pipe, for the command people pipe (docs/cli.md). */
describe('nightshift logs into a reader that stops after one line', () => {
  const platforms = devPlatforms();
  afterAll(() => platforms.stopAll());

  it('Given a finished run, When its logs go to a reader that closes after one line, Then the CLI exits 0 with nothing on stderr', async () => {
    const dev = await platforms.start(fastSession);
    const submitted = runCli(['submit', sampleRepo, 'Fix slugify so the tests pass.', '--wait'], dev.url);
    expect(submitted.code).toBe(0);
    const runId = /^([0-9A-Z]{26}) SUCCEEDED/m.exec(submitted.stdout)![1]!;
    // The whole timeline is well past one pipe page, so the CLI does write into the closed pipe.
    const whole = runCli(['--json', 'logs', runId], dev.url);
    expect(whole.stdout.length).toBeGreaterThan(2 * 4096);

    const json = await pipeline(['--json', 'logs', runId], dev.url);
    expect(json).toEqual({ stdout: `${whole.stdout.split('\n')[0]}\n`, stderr: '', cli: 0, reader: 0 });

    // As typed, human-readable: the first line, the queued status.
    const text = await pipeline(['logs', runId], dev.url);
    expect(text.stderr).toBe('');
    expect(text.cli).toBe(0);
    expect(text.stdout).toMatch(/^\S+\s+status\s+queued by .+\n$/);
  }, 180_000);
});
