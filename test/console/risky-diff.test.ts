import { classifyDiff, fileRisks, lineRisks, type DiffFile } from '../../core/console/risky-diff';

const diff = [
  'diff --git a/src/slugify.js b/src/slugify.js',
  'index 1111111..2222222 100644',
  '--- a/src/slugify.js',
  '+++ b/src/slugify.js',
  '@@ -1,4 +1,5 @@',
  ' function slugify(s) {',
  '-  return s.replace(/[^a-z0-9]/g, "-");',
  '+  return s.replace(/[^a-z0-9]+/g, "-")',
  '+    .replace(/^-+|-+$/g, "");',
  ' }',
  ' module.exports = slugify;',
  'diff --git a/test/slugify.test.js b/test/slugify.test.js',
  '--- a/test/slugify.test.js',
  '+++ b/test/slugify.test.js',
  '@@ -10,3 +10,2 @@',
  "-test('trims dashes', () => {",
  "+test.skip('trims dashes', () => {",
  '   expect(1).toBe(1);',
  'diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/.github/workflows/ci.yml',
  '@@ -0,0 +1,2 @@',
  '+name: ci',
  '+on: push',
  'diff --git a/test/old.test.js b/test/old.test.js',
  'deleted file mode 100644',
  '--- a/test/old.test.js',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  "-it('works', () => {});",
  'diff --git a/package-lock.json b/package-lock.json',
  '--- a/package-lock.json',
  '+++ b/package-lock.json',
  '@@ -1 +1 @@',
  '-{"lockfileVersion": 2}',
  '+{"lockfileVersion": 3}',
  '\\ No newline at end of file',
  'diff --git a/db/migrations/002_add_users.sql b/db/migrations/002_add_users.sql',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/db/migrations/002_add_users.sql',
  '@@ -0,0 +1 @@',
  '+DROP TABLE users;',
  '',
].join('\n');

function file(files: DiffFile[], path: string): DiffFile {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`no file ${path} in ${files.map((f) => f.path).join(', ')}`);
  return found;
}

describe('classifyDiff', () => {
  const classified = classifyDiff(diff, { protectedMatch: (p) => (p === 'src/slugify.js' ? 'src/slugify.js' : undefined) });

  it('Given a unified diff, When it is classified, Then every file has its change kind, paths, line numbers and counts', () => {
    expect(classified.files.map((f) => [f.path, f.change, f.additions, f.deletions])).toEqual([
      ['src/slugify.js', 'modified', 2, 1],
      ['test/slugify.test.js', 'modified', 1, 1],
      ['.github/workflows/ci.yml', 'added', 2, 0],
      ['test/old.test.js', 'deleted', 0, 1],
      ['package-lock.json', 'modified', 1, 1],
      ['db/migrations/002_add_users.sql', 'added', 1, 0],
    ]);
    const lines = file(classified.files, 'src/slugify.js').hunks[0]!.lines;
    expect(lines.map((l) => [l.kind, l.oldNumber, l.newNumber])).toEqual([
      ['context', 1, 1],
      ['del', 2, null],
      ['add', null, 2],
      ['add', null, 3],
      ['context', 3, 4],
      ['context', 4, 5],
    ]);
    expect(file(classified.files, 'package-lock.json').hunks[0]!.lines.at(-1)).toMatchObject({ kind: 'note', risks: [] });
    expect(classified.truncated).toBe(false);
  });

  it('Given changes to protected paths, CI config, lockfiles and migrations, When the diff is classified, Then their changed lines are marked, never context lines', () => {
    const kinds = (path: string) =>
      file(classified.files, path).hunks.flatMap((h) => h.lines.map((l) => [l.kind, l.risks.map((r) => r.kind)]));
    expect(kinds('src/slugify.js')).toEqual([
      ['context', []],
      ['del', ['protected_path']],
      ['add', ['protected_path']],
      ['add', ['protected_path']],
      ['context', []],
      ['context', []],
    ]);
    expect(file(classified.files, '.github/workflows/ci.yml').risks.map((r) => r.kind)).toEqual(['ci_config']);
    expect(file(classified.files, 'package-lock.json').risks.map((r) => r.kind)).toEqual(['lockfile']);
    expect(file(classified.files, 'db/migrations/002_add_users.sql').risks.map((r) => r.kind)).toEqual(['migration']);
  });

  it('Given a removed test declaration, an added skip and a deleted test file, When the diff is classified, Then each is marked', () => {
    const test = file(classified.files, 'test/slugify.test.js').hunks[0]!.lines;
    expect(test[0]!.risks.map((r) => r.kind)).toEqual(['deleted_test']);
    expect(test[1]!.risks.map((r) => r.kind)).toEqual(['skipped_test']);
    expect(test[2]!.risks).toEqual([]);
    const deleted = file(classified.files, 'test/old.test.js');
    expect(deleted.risks.map((r) => r.kind)).toEqual(['deleted_test']);
    expect(deleted.hunks[0]!.lines[0]!.risks.map((r) => r.kind)).toEqual(['deleted_test']);
  });

  it('Given the classified diff, Then the risky lines are counted', () => {
    // slugify 3 + test 2 + ci 2 + deleted test 1 + lockfile 2 + migration 1
    expect(classified.riskyLines).toBe(11);
  });

  it('Given an ordinary change, When it is classified, Then nothing is marked', () => {
    const plain = classifyDiff(
      ['diff --git a/README.md b/README.md', '--- a/README.md', '+++ b/README.md', '@@ -1 +1 @@', '-old', '+new'].join('\n'),
    );
    expect(plain.riskyLines).toBe(0);
    expect(plain.files[0]!.risks).toEqual([]);
  });

  it('Given renames, binary files and C-quoted names with markup in them, When the diff is classified, Then they read as plain paths', () => {
    const odd = classifyDiff(
      [
        'diff --git a/old name.js b/new name.js',
        'similarity index 90%',
        'rename from old name.js',
        'rename to new name.js',
        'diff --git a/logo.png b/logo.png',
        'Binary files a/logo.png and b/logo.png differ',
        'diff --git "a/<img src=x onerror=alert(1)>\\303\\251.js" "b/<img src=x onerror=alert(1)>\\303\\251.js"',
        'new file mode 100644',
        '--- /dev/null',
        '+++ "b/<img src=x onerror=alert(1)>\\303\\251.js"',
        '@@ -0,0 +1 @@',
        '+<script>alert(1)</script>',
      ].join('\n'),
    );
    expect(odd.files.map((f) => [f.path, f.change, f.binary])).toEqual([
      ['new name.js', 'renamed', false],
      ['logo.png', 'modified', true],
      ['<img src=x onerror=alert(1)>é.js', 'added', false],
    ]);
    expect(odd.files[0]!.oldPath).toBe('old name.js');
    expect(odd.files[2]!.hunks[0]!.lines[0]!.text).toBe('<script>alert(1)</script>');
  });

  it('Given a huge diff or garbage, When it is classified, Then the huge one is cut at maxLines, saying so, and garbage gives no files and no error', () => {
    expect(classifyDiff(diff, { maxLines: 10 })).toMatchObject({ truncated: true, files: [{ path: 'src/slugify.js' }] });
    expect(classifyDiff('not a diff\n@@ nonsense\n+++')).toEqual({ files: [], riskyLines: 0, truncated: false });
  });
});

describe('fileRisks and lineRisks', () => {
  it.each([
    ['.gitlab-ci.yml', 'ci_config'],
    ['.circleci/config.yml', 'ci_config'],
    ['ci/Jenkinsfile', 'ci_config'],
    ['yarn.lock', 'lockfile'],
    ['services/api/go.sum', 'lockfile'],
    ['Cargo.lock', 'lockfile'],
    ['alembic/versions/abc_add.py', 'migration'],
    ['db/migrate/20240101_create.rb', 'migration'],
    ['prisma/migrations/2024/migration.sql', 'migration'],
  ])('Given the path %s, When its file risks are read, Then it is %s', (path, kind) => {
    expect(fileRisks(path, 'modified').map((r) => r.kind)).toContain(kind);
  });

  it('Given look-alike paths, When their file risks are read, Then they are left alone', () => {
    for (const path of ['src/lockfile.ts', 'docs/ci.md', 'src/migrate-users.ts', 'github/workflows.md'])
      expect(fileRisks(path, 'modified')).toEqual([]);
  });

  it.each([
    ['add', 'it.skip("x", () => {})', 'skipped_test'],
    ['add', 'xit("x", () => {})', 'skipped_test'],
    ['add', '@pytest.mark.skip(reason="flaky")', 'skipped_test'],
    ['add', '    t.Skip("later")', 'skipped_test'],
    ['add', '#[ignore]', 'skipped_test'],
    ['add', 'describe.only("x", () => {})', 'skipped_test'],
    ['del', 'def test_slug():', 'deleted_test'],
    ['del', 'func TestSlug(t *testing.T) {', 'deleted_test'],
  ] as const)('Given a line of kind %s %s in a test file, When its risks are read, Then it is %s', (kind, text, risk) => {
    expect(lineRisks(kind, text, true).map((r) => r.kind)).toEqual([risk]);
  });

  it('Given an ordinary line, or a removed declaration outside test files, When its risks are read, Then it is no test change', () => {
    expect(lineRisks('add', 'const skipped = items.filter(Boolean);', true)).toEqual([]);
    expect(lineRisks('del', "test('x', () => {})", false)).toEqual([]);
    expect(lineRisks('add', "test('x', () => {})", true)).toEqual([]);
  });
});
