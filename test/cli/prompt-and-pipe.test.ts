import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { PromptSourceError, readPromptArgument, readStandardInput } from '../../cli/prompt-source';

const noStdin = async (): Promise<string> => {
  throw new Error('standard input must not be read');
};

describe('the prompt argument of submit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-prompt-'));

  it('Given plain text, Then it is the prompt as typed', async () => {
    await expect(readPromptArgument('fix the date test', { readStdin: noStdin })).resolves.toBe('fix the date test');
  });

  it('Given "-", Then the prompt is standard input without its final newline', async () => {
    const stdin = Readable.from(['bump lodash\n', 'and fix what breaks\n']);
    await expect(readPromptArgument('-', { readStdin: () => readStandardInput(stdin) })).resolves.toBe('bump lodash\nand fix what breaks');
  });

  it('Given "@file", Then the prompt is the file', async () => {
    const file = join(dir, 'task.md');
    writeFileSync(file, '# Task\nFix it.\n');
    await expect(readPromptArgument(`@${file}`, { readStdin: noStdin })).resolves.toBe('# Task\nFix it.');
  });

  it('Given "@@text", Then the prompt is "@text"', async () => {
    await expect(readPromptArgument('@@octocat please review', { readStdin: noStdin })).resolves.toBe('@octocat please review');
  });

  it.each([
    ['a missing file', () => `@${join(dir, 'missing.md')}`, /cannot read the prompt file .*missing\.md: ENOENT/],
    ['a directory', () => `@${dir}`, /is not a regular file/],
    [
      'an empty file',
      () => {
        writeFileSync(join(dir, 'empty.md'), '\n');
        return `@${join(dir, 'empty.md')}`;
      },
      /is empty/,
    ],
    [
      'a FIFO (never blocks)',
      () => {
        execFileSync('mkfifo', [join(dir, 'fifo')]);
        return `@${join(dir, 'fifo')}`;
      },
      /is not a regular file/,
    ],
    [
      'a file far over the limit',
      () => {
        writeFileSync(join(dir, 'huge.md'), 'x'.repeat(200_000));
        return `@${join(dir, 'huge.md')}`;
      },
      /a prompt is at most 20,000 characters/,
    ],
    ['"@" alone', () => '@', /must be followed by a file path/],
  ])('Given %s, Then it is a clear error', async (_what, arg, message) => {
    const failure = readPromptArgument(arg(), { readStdin: noStdin });
    await expect(failure).rejects.toThrow(PromptSourceError);
    await expect(failure).rejects.toThrow(message);
  });

  it('Given empty standard input, Then it is a clear error', async () => {
    await expect(readPromptArgument('-', { readStdin: () => readStandardInput(Readable.from(['  \n'])) })).rejects.toThrow(
      /standard input is empty/,
    );
  });
});

describe('a closed pipe', () => {
  it('Given the reader closes stdout at once (| head -0), When the CLI writes, Then it exits 0 with no stack trace', async () => {
    const bin = resolve(__dirname, '../../bin/nightshift.js');
    const child = spawn(process.execPath, [bin, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    expect(stderr).not.toMatch(/Error|EPIPE|at /);
    expect(code).toBe(0);
  });
});
