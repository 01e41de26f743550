import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { buildToolEnvironment } from '../../runner/isolation/tool-environment';
import { formatMatches } from '../../runner/tools/search-tool';
import { executeTool, type ToolContext } from '../../runner/tools/tool-executor';
import { ProtectedPaths } from '../../runner/tools/protected-paths';

/**
 * Golden tests of what the agent sees from each tool: the exact text, so a change to a tool's answer
 * is a deliberate change of these expectations (and of the recorded sessions' tool outputs).
 */
describe('tool outputs (golden)', () => {
  let root: string;
  let repo: string;
  let ctx: ToolContext;
  const run = async (name: string, input: unknown) => {
    const outcome = await executeTool(name, input, ctx);
    return { text: outcome.text, isError: outcome.isError };
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nightshift-tools-'));
    repo = join(root, 'repo');
    mkdirSync(join(repo, 'src/lib'), { recursive: true });
    writeFileSync(
      join(repo, 'src/add.js'),
      '// Adds two numbers.\nfunction add(a, b) {\n  return a - b;\n}\n\nmodule.exports = { add };\n',
    );
    writeFileSync(join(repo, 'src/lib/util.js'), 'const x = 1;\nconst y = 1;\n\tconst z = 2;\n');
    writeFileSync(join(repo, 'config.json'), '{ "name": "demo" }\n');
    writeFileSync(join(repo, 'crlf.txt'), 'one\r\ntwo\r\n');
    writeFileSync(join(repo, 'long.txt'), `${Array.from({ length: 1_200 }, (_, i) => `line ${i + 1}`).join('\n')}\n`);
    writeFileSync(join(repo, '.gitignore'), 'build/\n*.log\n');
    mkdirSync(join(repo, 'build'));
    writeFileSync(join(repo, 'build/out.js'), 'function add() {}\n');
    writeFileSync(join(repo, 'debug.log'), 'add was called\n');
    execFileSync('git', ['init', '-q'], { cwd: repo });
    execFileSync('git', ['add', 'src', 'config.json', '.gitignore'], { cwd: repo });
    const self = userInfo();
    ctx = {
      repoRoot: repo,
      protectedPaths: new ProtectedPaths(['.github/workflows/**']),
      identity: { kind: 'same', user: self.username, uid: self.uid, gid: self.gid, reason: 'test' },
      env: buildToolEnvironment({ home: root, user: self.username }),
      signal: new AbortController().signal,
      outputDir: join(root, 'tool-output'),
      gitFiles: async () =>
        execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate'], {
          cwd: repo,
          encoding: 'utf8',
        })
          .split('\0')
          .filter((f) => f !== ''),
    };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('Given read_file calls, When they run, Then the output reads lines a-b of N, a window with a continuation hint, and clear range errors', async () => {
    expect(await run('read_file', { path: 'src/add.js' })).toEqual({
      isError: false,
      text: 'src/add.js: lines 1-6 of 6\n    1| // Adds two numbers.\n    2| function add(a, b) {\n    3|   return a - b;\n    4| }\n    5| \n    6| module.exports = { add };',
    });
    expect(await run('read_file', { path: 'src/add.js', startLine: 2, endLine: 3 })).toEqual({
      isError: false,
      text: 'src/add.js: lines 2-3 of 6\n    2| function add(a, b) {\n    3|   return a - b;\n[3 more lines: read_file with startLine 4 to continue]',
    });
    const long = await run('read_file', { path: 'long.txt' });
    expect(long.text.split('\n')[0]).toBe('long.txt: lines 1-500 of 1200');
    expect(long.text.split('\n').at(-1)).toBe('[700 more lines: read_file with startLine 501 to continue]');
    expect(await run('read_file', { path: 'src/add.js', startLine: 5, endLine: 2 })).toEqual({
      isError: true,
      text: 'endLine 2 is before startLine 5: give startLine ≤ endLine',
    });
    expect(await run('read_file', { path: 'src/add.js', startLine: 9 })).toEqual({
      isError: true,
      text: 'startLine 9 is past the end of src/add.js, which has 6 lines',
    });
    expect(await run('read_file', { path: 'src/nope.js' })).toEqual({
      isError: true,
      text: 'src/nope.js does not exist; list_files shows what does',
    });
    expect(await run('read_file', { path: 'src' })).toEqual({ isError: true, text: 'src is a directory; use list_files with path "src"' });
  });

  it('Given write_file calls, When they run, Then the output says created or overwritten, and a protected path is refused', async () => {
    expect(await run('write_file', { path: 'docs/NOTES.md', content: 'a\nb\n' })).toEqual({
      isError: false,
      text: 'created docs/NOTES.md (2 lines, 4 bytes)',
    });
    expect(await run('write_file', { path: 'docs/NOTES.md', content: 'a\n' })).toEqual({
      isError: false,
      text: 'overwrote docs/NOTES.md (was 2 lines; now 1 line, 2 bytes)',
    });
    expect(await run('write_file', { path: '.github/workflows/ci.yml', content: 'x' })).toEqual({
      isError: true,
      text: 'refused: .github/workflows/ci.yml is a protected path (.github/workflows/**); the runner will not change it',
    });
  });

  it('Given edit_file calls, When they run, Then the output is a numbered snippet of the edit, the lines of every match, and hints for near misses', async () => {
    expect(await run('edit_file', { path: 'src/add.js', oldText: 'return a - b;', newText: 'return a + b;' })).toEqual({
      isError: false,
      text: 'edited src/add.js; lines 1-6 of 6 now read:\n    1| // Adds two numbers.\n    2| function add(a, b) {\n    3|   return a + b;\n    4| }\n    5| \n    6| module.exports = { add };',
    });
    expect(await run('edit_file', { path: 'src/lib/util.js', oldText: ' = 1;', newText: ' = 3;' })).toEqual({
      isError: true,
      text: 'oldText occurs 2 times in src/lib/util.js (at lines 1, 2); include more of the surrounding lines so that it occurs once',
    });
    expect(await run('edit_file', { path: 'src/lib/util.js', oldText: 'const z = 2;\n', newText: '' })).toMatchObject({ isError: false });
    expect(await run('edit_file', { path: 'src/add.js', oldText: '    3|   return a + b;', newText: 'x' })).toEqual({
      isError: true,
      text: 'oldText was not found in src/add.js. oldText starts its lines with read_file’s line-number prefix ("   12| "): leave the prefix out and copy only the file’s text.',
    });
    expect(await run('edit_file', { path: 'src/add.js', oldText: 'function add(a, b) {\nreturn a + b;', newText: 'x' })).toEqual({
      isError: true,
      text: 'oldText was not found in src/add.js. oldText matches lines 2-3 only when leading and trailing whitespace is ignored: copy them exactly (the file indents with spaces).',
    });
    expect(await run('edit_file', { path: 'crlf.txt', oldText: 'one\ntwo', newText: 'x' })).toEqual({
      isError: true,
      text: 'oldText was not found in crlf.txt. the file uses CRLF line endings: oldText matches with \\r\\n line ends; give newText the same line endings.',
    });
    expect(await run('edit_file', { path: 'src/add.js', oldText: 'subtract', newText: 'x' })).toEqual({
      isError: true,
      text: 'oldText was not found in src/add.js. read_file the region again and copy oldText exactly as it is now (the file may have changed since you read it).',
    });
  });

  it('Given an edit that breaks a file that parsed, When edit_file runs, Then it is refused and the file left unchanged', async () => {
    const broken = await run('edit_file', { path: 'config.json', oldText: '"demo" }', newText: '"demo",, }' });
    expect(broken.isError).toBe(true);
    expect(broken.text).toMatch(/^edit not applied: config\.json would no longer parse \(.+\); the file is unchanged$/);
    expect(readFileSync(join(repo, 'config.json'), 'utf8')).toBe('{ "name": "demo" }\n');
    const js = await run('edit_file', { path: 'src/add.js', oldText: 'return a + b;', newText: 'return a + ;' });
    expect(js.text).toMatch(/^edit not applied: src\/add\.js would no longer parse \(Unexpected token ';'\); the file is unchanged$/);
  });

  it('Given list_files calls, When they run, Then the output is the git view with directories, ignored files left out, a missing path said', async () => {
    expect(await run('list_files', {})).toEqual({
      isError: false,
      text: [
        '7 files under the repository root (git view: ignored files left out; directories end with /):',
        '.gitignore',
        'config.json',
        'crlf.txt',
        'docs/',
        'docs/NOTES.md',
        'long.txt',
        'src/',
        'src/add.js',
        'src/lib/',
        'src/lib/util.js',
      ].join('\n'),
    });
    expect((await run('list_files', { path: 'src', pattern: '*.js' })).text).toBe(
      '2 files matching *.js under src (git view: ignored files left out; directories end with /):\nsrc/add.js\nsrc/lib/\nsrc/lib/util.js',
    );
    expect(await run('list_files', { path: 'nowhere' })).toEqual({ isError: true, text: 'nowhere does not exist' });
    expect(await run('list_files', { path: 'build' })).toEqual({
      isError: false,
      text: 'build has no files (ignored files are not listed)',
    });
  });

  it('Given search calls, When they run, Then they take ripgrep syntax, honour .gitignore and group matches by file with counts', async () => {
    expect(await run('search', { pattern: 'function \\w+\\(' })).toEqual({
      isError: false,
      text: '1 match for function \\w+\\( in 1 file\nsrc/add.js (1 match)\n    2: function add(a, b) {',
    });
    expect(await run('search', { pattern: 'line \\d{4}$' })).toMatchObject({
      text: '201 matches for line \\d{4}$ in 1 file\nlong.txt (201 matches)\n 1000: line 1000\n 1001: line 1001\n 1002: line 1002\n 1003: line 1003\n 1004: line 1004\n 1005: line 1005\n 1006: line 1006\n 1007: line 1007\n 1008: line 1008\n 1009: line 1009\n  … 191 more in this file not shown\n[191 more not shown; narrow the pattern or the path]',
    });
    expect(await run('search', { pattern: 'add was called' })).toEqual({
      isError: false,
      text: 'no matches for add was called in the repository (files ignored by .gitignore are not searched)',
    });
    const bad = await run('search', { pattern: 'a(' });
    expect(bad.isError).toBe(true);
    expect(bad.text).toMatch(/^search failed: regex parse error/);
  });

  it('Given many matches, When the search answer is written, Then it caps matches per file and in all', () => {
    const out = Array.from({ length: 30 }, (_, f) =>
      Array.from({ length: 5 }, (_, l) => `./f${String(f).padStart(2, '0')}.txt\0${l + 1}:hit`).join('\n'),
    ).join('\n');
    const text = formatMatches(out, 'hit');
    expect(text.split('\n')[0]).toBe('150 matches for hit in 30 files');
    expect(text.split('\n').at(-1)).toBe('[50 more not shown, in 10 more files among them; narrow the pattern or the path]');
  });

  it('Given shell calls, When they run, Then the output says when a command succeeded with no output, and long output is saved to a file it names', async () => {
    expect(await run('shell', { command: 'true' })).toEqual({ isError: false, text: 'exit code 0 (succeeded with no output)' });
    expect(await run('shell', { command: 'exit 3' })).toEqual({ isError: true, text: 'exit code 3 (no output)' });
    expect(await run('shell', { command: 'echo hi' })).toEqual({ isError: false, text: 'exit code 0\nhi\n' });
    const long = await run('shell', { command: 'seq 1 20000' });
    const saved = join(root, 'tool-output', 'shell-0001.log');
    expect(long.text).toContain(`the whole output (20001 lines) is saved in ${saved}: read the middle with shell, e.g. \`sed -n '`);
    expect(long.text.startsWith('exit code 0\n1\n2\n')).toBe(true);
    expect(long.text.endsWith('19999\n20000\n')).toBe(true);
    expect(long.text.length).toBeLessThanOrEqual(16_000);
    expect(readFileSync(saved, 'utf8')).toBe(execFileSync('seq', ['1', '20000'], { encoding: 'utf8' }));
  });
});
