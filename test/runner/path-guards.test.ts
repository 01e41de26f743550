import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PROTECTED_PATHS, globToRegExp, ProtectedPaths } from '../../runner/tools/protected-paths';
import { existingParent, PathRefusedError, resolveRepoPath } from '../../runner/tools/workspace-paths';

/**
 * The runner's path guards, each refusal pinned by a test of its own (the mutation run found checks
 * that every other runner test would let go): the model's paths stay inside the repository and out of
 * its git directory, and protected globs mean what docs/runner.md says.
 */
/** The refusal `resolveRepoPath` gives for `requested`, or undefined when it accepts the path. */
function refusalOf(root: string, requested: string): PathRefusedError | undefined {
  try {
    resolveRepoPath(root, requested);
  } catch (err) {
    if (err instanceof PathRefusedError) return err;
    throw err;
  }
  return undefined;
}

describe('the workspace path guard', () => {
  let root: string;
  let outside: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-paths-'));
    outside = mkdtempSync(join(tmpdir(), 'ns-outside-'));
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    mkdirSync(join(root, '.git', 'refs'), { recursive: true });
    writeFileSync(join(root, 'src', 'a.js'), 'a');
    writeFileSync(join(root, '.git', 'config'), '[core]');
    writeFileSync(join(outside, 'secret'), 'x');
    symlinkSync('..', join(root, 'src', 'up'));
    symlinkSync('..', join(root, 'parent'));
    symlinkSync(outside, join(root, 'elsewhere'));
    symlinkSync('.git', join(root, 'gitlink'));
    symlinkSync('../.git/config', join(root, 'src', 'config-link'));
    symlinkSync('deep', join(root, 'src', 'inner'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const refusal = (requested: string): string => refusalOf(root, requested)?.message ?? 'accepted';

  it('Given a path naming the git directory in any spelling, When it is resolved, Then it is refused before anything is read', () => {
    for (const path of ['.git', '.git/config', '.GIT/config', './.git/refs', '.git//config', '.\\.git\\config'])
      expect(refusal(path)).toMatch(/the \.git directory belongs to the runner$/);
  });

  it('Given a symlink that leads into the git directory, When a path through it is resolved, Then the resolved location is refused too', () => {
    // Only the check on the resolved path catches these: their first segment is not `.git`.
    expect(refusal('gitlink/config')).toMatch(/the \.git directory belongs to the runner$/);
    expect(refusal('gitlink')).toMatch(/the \.git directory belongs to the runner$/);
    expect(refusal('src/config-link')).toMatch(/the \.git directory belongs to the runner$/);
  });

  it('Given a symlink to the parent directory or outside the repository, When a path through it is resolved, Then it is refused', () => {
    expect(refusal('parent/etc')).toMatch(/leads outside the repository \(symlink\)$/);
    expect(refusal('src/up/parent')).toMatch(/leads outside the repository \(symlink\)$/);
    expect(refusal('elsewhere/secret')).toMatch(/leads outside the repository \(symlink\)$/);
    expect(refusal('elsewhere')).toMatch(/leads outside the repository \(symlink\)$/);
  });

  it('Given `..`, an absolute path or a NUL byte, When it is resolved, Then each is refused with its own reason', () => {
    expect(refusal('src/../../x')).toMatch(/must not contain "\.\."$/);
    expect(refusal('src/../.git/config')).toMatch(/must not contain "\.\."$/);
    expect(refusal('/etc/passwd')).toMatch(/must be relative to the repository$/);
    expect(refusal('src/a.js\0.txt')).toMatch(/contains a NUL byte$/);
  });

  it('Given paths inside the repository, When they are resolved, Then a symlink inside it is followed and a new file is placed under its real parent', () => {
    expect(resolveRepoPath(root, 'src/a.js')).toMatchObject({ relative: 'src/a.js', exists: true });
    expect(resolveRepoPath(root, './src//a.js')).toMatchObject({ relative: 'src/a.js', exists: true });
    expect(resolveRepoPath(root, 'src/up/src/a.js')).toMatchObject({ relative: 'src/a.js', exists: true });
    expect(resolveRepoPath(root, 'src/inner/new/file.txt')).toMatchObject({ relative: 'src/deep/new/file.txt', exists: false });
    expect(resolveRepoPath(root, '')).toMatchObject({ relative: '', exists: true });
    expect(resolveRepoPath(root, '.gitignore')).toMatchObject({ relative: '.gitignore', exists: false });
    const created = resolveRepoPath(root, 'src/deep/a/b/c.txt');
    expect(existingParent(created.absolute)).toBe(join(resolveRepoPath(root, 'src/deep').absolute));
  });
});

describe('the workspace path guard, where .git is a symlink out of the repository (a linked checkout)', () => {
  let root: string;
  let gitDir: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-linked-'));
    gitDir = mkdtempSync(join(tmpdir(), 'ns-gitdir-'));
    writeFileSync(join(gitDir, 'config'), '[core]');
    symlinkSync(gitDir, join(root, '.git'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(gitDir, { recursive: true, force: true });
  });

  const refusal = (requested: string): PathRefusedError => {
    const error = refusalOf(root, requested);
    if (!error) throw new Error(`${requested} was accepted`);
    return error;
  };

  it('Given a path to .git in any spelling (a `.` part, a leading backslash, another case), When it is resolved, Then the path itself is refused as the git directory, before its symlink is followed', () => {
    // Only the check on the requested path names the git directory here: following the link would
    // refuse it as leading outside the repository instead.
    for (const path of ['.git/config', './.git/config', '.\\.git', '\\.git\\config', '.GIT', 'x/../.git']) {
      const error = refusal(path);
      expect(error).toMatchObject({ name: 'PathRefusedError', requested: path });
      expect(error.message).toMatch(path === 'x/../.git' ? /must not contain "\.\."$/ : /the \.git directory belongs to the runner$/);
    }
  });
});

describe('protected path globs', () => {
  it('Given `**/` in the middle of a glob, When paths are matched, Then it stands for zero or more directories and nothing else', () => {
    const re = globToRegExp('docs/**/secret.md');
    for (const path of ['docs/secret.md', 'docs/a/secret.md', 'docs/a/b/secret.md']) expect(re.test(path)).toBe(true);
    for (const path of ['docs/a/secret.mdx', 'docsx/secret.md', 'other/docs/secret.md', 'docs/a/xsecret.md'])
      expect(re.test(path)).toBe(false);
  });

  it('Given `*` and `?`, When paths are matched, Then neither crosses a directory and `?` is exactly one character', () => {
    const star = globToRegExp('infra/*.tf');
    expect(star.test('infra/main.tf')).toBe(true);
    expect(star.test('infra/modules/main.tf')).toBe(false);
    const one = globToRegExp('a?.txt');
    expect(one.test('ab.txt')).toBe(true);
    expect(one.test('a.txt')).toBe(false);
    expect(one.test('abc.txt')).toBe(false);
    expect(one.test('a/.txt')).toBe(false);
  });

  it('Given a trailing `**`, When paths are matched, Then it matches everything below, files included, at any depth', () => {
    const re = globToRegExp('deploy/**');
    for (const path of ['deploy/prod.sh', 'deploy/a/b/c.txt', 'deploy/']) expect(re.test(path)).toBe(true);
    expect(re.test('deployment/prod.sh')).toBe(false);
    expect(globToRegExp('**').test('any/file.ts')).toBe(true);
  });

  it('Given regular-expression characters in a glob, When paths are matched, Then they are literal', () => {
    const re = globToRegExp('config/app+(prod).json');
    expect(re.test('config/app+(prod).json')).toBe(true);
    expect(re.test('config/appp(prod)xjson')).toBe(false);
  });

  it('Given a `./` prefix, another case or a protected directory itself, When a path is checked, Then the glob that protects it is named', () => {
    const paths = new ProtectedPaths(['./.nightshift.yml', 'deploy/**']);
    expect(paths.match('.nightshift.yml')).toBe('./.nightshift.yml');
    expect(paths.match('.NightShift.YML')).toBe('./.nightshift.yml');
    expect(paths.match('deploy')).toBe('deploy/**');
    expect(paths.match('deploy\\prod.sh')).toBe('deploy/**');
    expect(paths.match('deployment/x')).toBeUndefined();
    expect(paths.match('src/.nightshift.yml')).toBeUndefined();
  });

  it('Given `./` that is not a prefix, When a path is checked, Then only a leading `./` is dropped from the glob', () => {
    const paths = new ProtectedPaths(['build./out', './dist./x']);
    expect(paths.match('build./out')).toBe('build./out');
    expect(paths.match('buildout')).toBeUndefined();
    expect(paths.match('dist./x')).toBe('./dist./x');
    expect(paths.match('distx')).toBeUndefined();
    expect(paths.globs).toEqual(['build./out', './dist./x']);
  });

  it('Given allowedPaths, When paths are checked, Then a protected glob wins inside them, a path outside all of them is refused naming them, and one inside any of them passes', () => {
    const paths = new ProtectedPaths(['src/secret/**'], ['src/**', 'docs/*.md']);
    expect(paths.match('src/secret/key.pem')).toBe('src/secret/**');
    expect(paths.match('src/app.ts')).toBeUndefined();
    expect(paths.match('docs/intro.md')).toBeUndefined();
    expect(paths.match('infra/stack.ts')).toBe('outside allowedPaths: src/**, docs/*.md');
    expect(paths.allowedGlobs).toEqual(['src/**', 'docs/*.md']);
    expect(new ProtectedPaths(['src/secret/**']).allowedGlobs).toBeUndefined();
    expect(new ProtectedPaths(['src/secret/**']).match('infra/stack.ts')).toBeUndefined();
  });

  it('Given the defaults, When CI workflows and the settings file are checked, Then both are protected in any case', () => {
    const defaults = new ProtectedPaths(DEFAULT_PROTECTED_PATHS);
    expect(defaults.match('.github/workflows/ci.yml')).toBe('.github/workflows/**');
    expect(defaults.match('.GitHub/Workflows/deep/ci.yml')).toBe('.github/workflows/**');
    expect(defaults.match('.github/dependabot.yml')).toBeUndefined();
  });
});
