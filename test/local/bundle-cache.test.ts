import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledFile } from '../../bin/bundles';

/** The bundle cache of bin/bundles.js on a checkout of its own: a runner entry that imports a second module. */
describe('bundle cache (bin/bundles.js)', () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  const run = (file: string) => spawnSync(process.execPath, ['--enable-source-maps', file], { encoding: 'utf8' });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nightshift-bundles-'));
    write('runner/main.ts', "import { greeting } from './greeting';\nconst text: string = greeting();\nconsole.log(text);\n");
    write('runner/greeting.ts', "export const greeting = (): string => 'first';\n");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('Given no bundle yet, When it is asked for twice, Then it is built once and the cached file is served while no input changed', async () => {
    const first = await bundledFile('runner', { root });
    expect(first.built).toBe(true);
    expect(first.file.startsWith(join(root, '.nightshift', 'bundles'))).toBe(true);
    expect(run(first.file).stdout).toBe('first\n');
    const second = await bundledFile('runner', { root });
    expect(second).toEqual({ file: first.file, built: false });
  });

  test('Given a built bundle, When an input is touched with the same bytes (a checkout, a copy), Then it is re-hashed, not rebuilt, and its new time recorded', async () => {
    const first = await bundledFile('runner', { root });
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'runner/greeting.ts'), later, later);
    expect(await bundledFile('runner', { root })).toEqual({ file: first.file, built: false });
    const manifest = JSON.parse(readFileSync(join(root, '.nightshift', 'bundles', 'runner.json'), 'utf8')) as {
      inputs: { path: string; mtimeMs: number }[];
    };
    // The new time is recorded as the file system reports it (its float milliseconds, not the Date's).
    expect(manifest.inputs.find((i) => i.path === 'runner/greeting.ts')?.mtimeMs).toBe(statSync(join(root, 'runner/greeting.ts')).mtimeMs);
  });

  test('Given a built bundle, When an input changes, Then it rebuilds under a new name and the old build stays for processes still starting from it', async () => {
    const first = await bundledFile('runner', { root });
    write('runner/greeting.ts', "export const greeting = (): string => 'second';\n");
    const second = await bundledFile('runner', { root });
    expect(second.built).toBe(true);
    expect(second.file).not.toBe(first.file);
    expect(run(second.file).stdout).toBe('second\n');
    expect(existsSync(first.file)).toBe(true);
  });

  test('Given a built bundle, When its file is lost or an input is removed, Then it rebuilds', async () => {
    const first = await bundledFile('runner', { root });
    rmSync(first.file);
    const second = await bundledFile('runner', { root });
    expect(second.built).toBe(true);
    expect(run(second.file).stdout).toBe('first\n');
    write('runner/main.ts', "console.log('standalone');\n");
    rmSync(join(root, 'runner/greeting.ts'));
    const third = await bundledFile('runner', { root });
    expect(third.built).toBe(true);
    expect(run(third.file).stdout).toBe('standalone\n');
  });

  test('Given an input that does not build, When the bundle is asked for, Then the build error is thrown and nothing is cached', async () => {
    write('runner/main.ts', "import { missing } from './nowhere';\nconsole.log(missing);\n");
    await expect(bundledFile('runner', { root })).rejects.toThrow(/nowhere/);
    expect(existsSync(join(root, '.nightshift', 'bundles', 'runner.json'))).toBe(false);
  });
});
