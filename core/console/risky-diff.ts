/**
 * A branch's unified diff (`git diff base...head`), parsed into files and lines, with the lines a
 * reviewer should look at twice marked: changes to protected or approval paths, CI configuration,
 * deleted or skipped tests, lockfiles and migrations. Pure: the console renders what this returns.
 */

export const RISK_KINDS = ['protected_path', 'ci_config', 'deleted_test', 'skipped_test', 'lockfile', 'migration'] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export interface Risk {
  kind: RiskKind;
  /** One line a reviewer reads: why this is marked. */
  reason: string;
}

export const DIFF_LINE_KINDS = ['add', 'del', 'context', 'note'] as const;
export type DiffLineKind = (typeof DIFF_LINE_KINDS)[number];

export interface DiffLine {
  kind: DiffLineKind;
  /** The line without its `+`, `-` or ` ` prefix. */
  text: string;
  oldNumber: number | null;
  newNumber: number | null;
  risks: Risk[];
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

export const FILE_CHANGES = ['added', 'deleted', 'modified', 'renamed'] as const;
export type FileChange = (typeof FILE_CHANGES)[number];

export interface DiffFile {
  oldPath: string | null;
  newPath: string | null;
  /** The path to show: the new path, or the old one of a deleted file. */
  path: string;
  change: FileChange;
  binary: boolean;
  /** Risks of the file as a whole (every changed line of it carries them too). */
  risks: Risk[];
  hunks: DiffHunk[];
  additions: number;
  deletions: number;
}

export interface ClassifiedDiff {
  files: DiffFile[];
  /** How many changed lines carry at least one risk. */
  riskyLines: number;
  /** True when the input was cut at `maxLines`. */
  truncated: boolean;
}

export interface ClassifyOptions {
  /** The glob that protects or needs approval for a path (the repository's protected and approval paths), if any. */
  protectedMatch?: (path: string) => string | undefined;
  /** Stop after this many diff lines (default 20,000): a huge diff is shown in part, and says so. */
  maxLines?: number;
}

const CI_CONFIG: readonly RegExp[] = [
  /^\.github\/workflows\//i,
  /^\.github\/actions\//i,
  /^\.github\/dependabot\.ya?ml$/i,
  /^\.gitlab-ci\.ya?ml$/i,
  /^\.gitlab\/ci\//i,
  /^\.circleci\//i,
  /^\.travis\.ya?ml$/i,
  /^\.buildkite\//i,
  /^azure-pipelines\.ya?ml$/i,
  /^bitbucket-pipelines\.ya?ml$/i,
  /^\.drone\.ya?ml$/i,
  /^\.woodpecker(\.ya?ml|\/)/i,
  /(^|\/)Jenkinsfile$/,
  /^buildspec\.ya?ml$/i,
  /^\.pre-commit-config\.ya?ml$/i,
];

const LOCKFILES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'bun.lock',
  'deno.lock',
  'cargo.lock',
  'poetry.lock',
  'pipfile.lock',
  'uv.lock',
  'pdm.lock',
  'gemfile.lock',
  'composer.lock',
  'go.sum',
  'mix.lock',
  'pubspec.lock',
  'podfile.lock',
  'packages.lock.json',
  'gradle.lockfile',
  'flake.lock',
]);

const MIGRATION: readonly RegExp[] = [
  /(^|\/)migrations?\//i,
  /(^|\/)db\/migrate\//i,
  /(^|\/)alembic\/versions\//i,
  /(^|\/)flyway\//i,
  /(^|\/)liquibase\//i,
  /(^|\/)changelog[^/]*\.(xml|ya?ml|sql)$/i,
  /(^|\/)\d{3,}[_-][^/]*\.sql$/i,
];

const TEST_PATH: readonly RegExp[] = [
  /(^|\/)(test|tests|__tests__|spec|specs|e2e)\//i,
  /\.(test|spec)\.[cm]?[jt]sx?$/i,
  /(^|\/)test_[^/]*\.py$/i,
  /_test\.(py|go|rb|exs?)$/i,
  /_spec\.rb$/i,
  /Tests?\.(java|kt|cs|swift)$/,
];

/** A line that declares a test: removing it deletes a test. */
const TEST_DECLARATION: readonly RegExp[] = [
  /^\s*(it|test|describe|specify|context)(\.(only|each|concurrent))?\s*\(/,
  /^\s*def\s+test_?\w*\s*\(/,
  /^\s*func\s+Test\w*\s*\(/,
  /^\s*(@Test|@ParameterizedTest)\b/,
  /^\s*#\[(test|tokio::test)\]/,
  /^\s*\[(Test|Fact|Theory|TestMethod)\]/,
  /^\s*(public\s+)?(async\s+)?void\s+test\w*\s*\(/,
];

/** A line that skips or disables a test: adding it hides a failure. */
const TEST_SKIP: readonly RegExp[] = [
  /\b(it|test|describe|context)\.(skip|todo)\s*\(/,
  /(^|[^\w.])(xit|xtest|xdescribe|xcontext)\s*\(/,
  /@pytest\.mark\.(skip|skipif|xfail)\b/,
  /\bpytest\.skip\s*\(/,
  /@unittest\.skip/,
  /\bt\.Skip(Now|f)?\s*\(/,
  /#\[ignore\]/,
  /@(Disabled|Ignore)\b/,
  /\[(Ignore|Skip)\b/,
  /\bskip\s*:\s*true\b/,
  /\bpending\s*\(/,
  /\.only\s*\(/,
];

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The risks of a file as a whole, from its path and how it changed. */
export function fileRisks(path: string, change: FileChange, protectedMatch?: (path: string) => string | undefined): Risk[] {
  const risks: Risk[] = [];
  const glob = protectedMatch?.(path);
  if (glob) risks.push({ kind: 'protected_path', reason: `${path} is a protected or approval path (${glob})` });
  if (CI_CONFIG.some((re) => re.test(path)))
    risks.push({ kind: 'ci_config', reason: 'CI configuration: it runs with the repository’s CI secrets' });
  if (LOCKFILES.has(basename(path).toLowerCase())) risks.push({ kind: 'lockfile', reason: 'lockfile: pins what gets installed' });
  if (MIGRATION.some((re) => re.test(path))) risks.push({ kind: 'migration', reason: 'database migration' });
  if (change === 'deleted' && isTestPath(path)) risks.push({ kind: 'deleted_test', reason: 'a test file was deleted' });
  return risks;
}

export function isTestPath(path: string): boolean {
  return TEST_PATH.some((re) => re.test(path));
}

/** The risks of one changed line of a file, beyond the file's own. */
export function lineRisks(kind: 'add' | 'del', text: string, inTestFile: boolean): Risk[] {
  const risks: Risk[] = [];
  if (kind === 'del' && inTestFile && TEST_DECLARATION.some((re) => re.test(text)))
    risks.push({ kind: 'deleted_test', reason: 'removes a test' });
  if (kind === 'add' && TEST_SKIP.some((re) => re.test(text)))
    risks.push({ kind: 'skipped_test', reason: 'skips a test or narrows the test run' });
  return risks;
}

/** `a/src/x.ts` → `src/x.ts`; `/dev/null` → null; git's C-quoted names are unquoted. */
function diffPath(raw: string): string | null {
  const text = raw.trim().replace(/\t.*$/, '');
  if (text === '/dev/null') return null;
  const unquoted = text.startsWith('"') && text.endsWith('"') ? unquoteC(text.slice(1, -1)) : text;
  return unquoted.replace(/^[ab]\//, '');
}

/** Git quotes names with control characters, quotes, backslashes or (by default) non-ASCII bytes as C strings with octal escapes. */
function unquoteC(text: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '"': 34 };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      for (const b of new TextEncoder().encode(c)) bytes.push(b);
      continue;
    }
    const next = text[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      bytes.push(parseInt(octal, 8) & 0xff);
      i += octal.length;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The two paths of a `diff --git a/x b/y` line; ambiguous when names contain " b/", so the ---/+++ lines win when present. */
function gitHeaderPaths(line: string): { oldPath: string | null; newPath: string | null } {
  const rest = line.slice('diff --git '.length);
  const quoted = /^("(?:[^"\\]|\\.)*")\s+("(?:[^"\\]|\\.)*")$/.exec(rest);
  if (quoted) return { oldPath: diffPath(quoted[1]!), newPath: diffPath(quoted[2]!) };
  const half = rest.length / 2;
  // Unrenamed files: "a/P b/P", the two halves are the same path.
  if (Number.isInteger(half - 0.5) && rest.slice(0, half - 0.5).replace(/^a\//, '') === rest.slice(half + 0.5).replace(/^b\//, '')) {
    const path = rest.slice(0, half - 0.5).replace(/^a\//, '');
    return { oldPath: path, newPath: path };
  }
  const split = rest.indexOf(' b/');
  if (split < 0) return { oldPath: null, newPath: null };
  return { oldPath: diffPath(rest.slice(0, split)), newPath: diffPath(rest.slice(split + 1)) };
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Parses `git diff` output and marks its risky lines. Never throws on odd input: what it cannot read is skipped. */
export function classifyDiff(diff: string, options: ClassifyOptions = {}): ClassifiedDiff {
  const maxLines = options.maxLines ?? 20_000;
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const truncated = lines.length > maxLines;
  const files: DiffFile[] = [];
  let file: (DiffFile & { inTest: boolean }) | undefined;
  let hunk: DiffHunk | undefined;
  let oldNo = 0;
  let newNo = 0;

  const finishFile = () => {
    if (!file) return;
    const path = file.newPath ?? file.oldPath ?? '(unknown)';
    file.path = path;
    file.risks = fileRisks(path, file.change, options.protectedMatch);
    file.inTest = isTestPath(path);
    for (const h of file.hunks) {
      for (const l of h.lines) {
        if (l.kind !== 'add' && l.kind !== 'del') continue;
        const own = lineRisks(l.kind, l.text, file.inTest).filter((r) => !file!.risks.some((f) => f.kind === r.kind));
        l.risks = [...file.risks, ...own];
      }
    }
    const { inTest: _inTest, ...plain } = file;
    files.push(plain);
    file = undefined;
    hunk = undefined;
  };

  for (const line of lines.slice(0, maxLines)) {
    if (line.startsWith('diff --git ')) {
      finishFile();
      const paths = gitHeaderPaths(line);
      file = { ...paths, path: '', change: 'modified', binary: false, risks: [], hunks: [], additions: 0, deletions: 0, inTest: false };
      continue;
    }
    if (!file) continue;
    if (!hunk) {
      if (line.startsWith('new file mode')) file.change = 'added';
      else if (line.startsWith('deleted file mode')) file.change = 'deleted';
      else if (line.startsWith('rename from ')) {
        file.change = 'renamed';
        file.oldPath = diffPath(line.slice('rename from '.length));
      } else if (line.startsWith('rename to ')) file.newPath = diffPath(line.slice('rename to '.length));
      else if (line.startsWith('Binary files ') || line === 'GIT binary patch') file.binary = true;
      else if (line.startsWith('--- ')) {
        const p = diffPath(line.slice(4));
        file.oldPath = p;
        if (p === null) file.change = 'added';
      } else if (line.startsWith('+++ ')) {
        const p = diffPath(line.slice(4));
        file.newPath = p;
        if (p === null) file.change = 'deleted';
      }
    }
    const header = HUNK.exec(line);
    if (header) {
      hunk = { header: line, lines: [] };
      file.hunks.push(hunk);
      oldNo = Number(header[1]);
      newNo = Number(header[3]);
      continue;
    }
    if (!hunk) continue;
    const mark = line[0];
    const text = line.slice(1);
    if (mark === '+') {
      hunk.lines.push({ kind: 'add', text, oldNumber: null, newNumber: newNo++, risks: [] });
      file.additions++;
    } else if (mark === '-') {
      hunk.lines.push({ kind: 'del', text, oldNumber: oldNo++, newNumber: null, risks: [] });
      file.deletions++;
    } else if (mark === ' ' || line === '') {
      hunk.lines.push({ kind: 'context', text, oldNumber: oldNo++, newNumber: newNo++, risks: [] });
    } else if (mark === '\\') {
      hunk.lines.push({ kind: 'note', text: line, oldNumber: null, newNumber: null, risks: [] });
    }
  }
  finishFile();
  const riskyLines = files.reduce((n, f) => n + f.hunks.reduce((m, h) => m + h.lines.filter((l) => l.risks.length > 0).length, 0), 0);
  return { files, riskyLines, truncated };
}
