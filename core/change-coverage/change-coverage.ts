import { posix } from 'node:path';
import * as z from 'zod';
import { CoverageFormat, type CoverageReport } from './report-formats';

/**
 * Coverage of a change: of the lines the change adds, how many the tests at head ran, and the
 * report's whole line coverage at base and at head. The evidence is what the repository's own
 * test run wrote, so it informs a reviewer; it gates nothing.
 */

/** A report's lines, by repository-relative path (forward slashes, no `..`). */
export interface LocatedCoverage {
  byPath: Map<string, Map<number, number>>;
  /** JaCoCo's source-root-relative paths (`com/example/Add.java`), matched as a path suffix. */
  bySuffix: Map<string, Map<number, number>>;
  totals: LineTotals;
  /** Entries whose path leads outside the repository (ignored for the changed lines, still in the totals). */
  outside: number;
}

export const LineTotals = z.object({ covered: z.number().int().min(0), total: z.number().int().min(0) }).strict();
export type LineTotals = z.infer<typeof LineTotals>;

/**
 * A repository-relative path for a path in a report, or undefined when it leaves the repository.
 * `repoRoots` are the absolute paths the repository was checked out at (as the tests saw it, and
 * resolved); an absolute path must be inside one of them.
 */
export function repoRelative(reportPath: string, repoRoots: readonly string[]): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a path with control characters is refused, not shown
  if (/[\u0000-\u001f\u007f]/.test(reportPath)) return undefined;
  let rel = reportPath;
  if (posix.isAbsolute(reportPath)) {
    const normalized = posix.normalize(reportPath);
    const root = repoRoots.map((r) => posix.normalize(r).replace(/\/+$/, '')).find((r) => normalized.startsWith(`${r}/`));
    if (root === undefined) return undefined;
    rel = normalized.slice(root.length + 1);
  }
  const clean = posix
    .normalize(rel)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  if (clean === '' || clean === '.' || clean === '..' || clean.startsWith('../') || posix.isAbsolute(clean)) return undefined;
  if (clean.split('/')[0]!.toLowerCase() === '.git') return undefined;
  return clean;
}

export function locateCoverage(report: CoverageReport, repoRoots: readonly string[]): LocatedCoverage {
  const byPath = new Map<string, Map<number, number>>();
  const bySuffix = new Map<string, Map<number, number>>();
  const totals: LineTotals = { covered: 0, total: 0 };
  let outside = 0;
  const merge = (into: Map<string, Map<number, number>>, key: string, lines: Map<number, number>) => {
    const existing = into.get(key);
    if (!existing) return void into.set(key, new Map(lines));
    for (const [line, hits] of lines) existing.set(line, (existing.get(line) ?? 0) + hits);
  };
  for (const file of report.files) {
    for (const hits of file.lines.values()) {
      totals.total++;
      if (hits > 0) totals.covered++;
    }
    if (report.sourceRootRelative) {
      const suffix = repoRelative(file.path, []);
      if (suffix === undefined) outside++;
      else merge(bySuffix, suffix, file.lines);
      continue;
    }
    // Cobertura: a relative filename is under one of the <source>s (the report does not say which), so
    // it is filed under each; only the one that names a changed file is ever looked up.
    const candidates =
      !posix.isAbsolute(file.path) && report.sourceRoots.length ? report.sourceRoots.map((s) => posix.join(s, file.path)) : [file.path];
    const paths = new Set(candidates.map((c) => repoRelative(c, repoRoots)).filter((p) => p !== undefined));
    // Sources outside the checkout (a report made elsewhere): the filename itself, relative to the root.
    const fallback = paths.size === 0 && candidates[0] !== file.path ? repoRelative(file.path, repoRoots) : undefined;
    if (fallback !== undefined) paths.add(fallback);
    if (paths.size === 0) outside++;
    for (const path of paths) merge(byPath, path, file.lines);
  }
  return { byPath, bySuffix, totals, outside };
}

/** The lines of `path` in the report: by its path, or (JaCoCo) by the longest entry its path ends with. */
export function linesOf(located: LocatedCoverage, path: string): Map<number, number> | undefined {
  const direct = located.byPath.get(path);
  if (direct) return direct;
  let best: { length: number; lines: Map<number, number> } | undefined;
  for (const [suffix, lines] of located.bySuffix) {
    if ((path === suffix || path.endsWith(`/${suffix}`)) && (!best || suffix.length > best.length)) best = { length: suffix.length, lines };
  }
  return best?.lines;
}

/** Files listed in the evidence (the rest are counted, not named). */
export const LISTED_FILES = 50;

export const ChangedFileCoverage = z
  .object({
    path: z.string(),
    /** Lines the change adds to the file. */
    added: z.number().int().min(0),
    /** Of those, lines the report instruments (executable lines), and how many of them ran. */
    measured: z.number().int().min(0),
    covered: z.number().int().min(0),
    /** The measured added lines that did not run, as ranges ("4-5, 9"). */
    uncovered: z.string(),
    /** False when the file is not in the head report at all (never loaded by the tests, or not code). */
    inReport: z.boolean(),
  })
  .strict();
export type ChangedFileCoverage = z.infer<typeof ChangedFileCoverage>;

/** The figures of a run's change coverage: in the PR body, and in the run's events for GitHub's check run. */
export const ChangeCoverageEvidence = z
  .object({
    format: CoverageFormat,
    report: z.string(),
    /** The added lines at head: measured (instrumented), covered; null without a head report. */
    changedLines: z
      .object({
        added: z.number().int().min(0),
        measured: z.number().int().min(0),
        covered: z.number().int().min(0),
        percent: z.number().nullable(),
      })
      .strict()
      .nullable(),
    files: z.array(ChangedFileCoverage).max(LISTED_FILES),
    filesNotListed: z.number().int().min(0),
    /** Whole-report line coverage at base and head, and head − base in percentage points. */
    base: LineTotals.extend({ percent: z.number().nullable() }).nullable(),
    head: LineTotals.extend({ percent: z.number().nullable() }).nullable(),
    deltaPoints: z.number().nullable(),
    /** Why a figure is missing (no report at base, a report that could not be read). */
    notes: z.array(z.string()),
  })
  .strict();
export type ChangeCoverageEvidence = z.infer<typeof ChangeCoverageEvidence>;

/** What one test run's report gave: the located lines, or why there are none. */
export type CoverageReading = { kind: 'read'; located: LocatedCoverage } | { kind: 'unavailable'; reason: string };

const percent = (covered: number, total: number): number | null => (total === 0 ? null : Math.round((covered / total) * 1000) / 10);

export function changeCoverage(input: {
  format: CoverageFormat;
  report: string;
  base: CoverageReading | undefined;
  head: CoverageReading | undefined;
  added: Map<string, number[]>;
}): ChangeCoverageEvidence {
  const notes: string[] = [];
  const base = input.base?.kind === 'read' ? input.base.located : undefined;
  const head = input.head?.kind === 'read' ? input.head.located : undefined;
  if (input.base?.kind === 'unavailable') notes.push(`at base: ${input.base.reason}`);
  if (input.base === undefined) notes.push('at base: the tests did not run');
  if (input.head?.kind === 'unavailable') notes.push(`at head: ${input.head.reason}`);
  if (input.head === undefined) notes.push('at head: the tests did not run');
  if (head?.outside)
    notes.push(
      `at head: ${head.outside} report entr${head.outside === 1 ? 'y names a path' : 'ies name paths'} outside the repository, ignored for the changed lines`,
    );
  const files: ChangedFileCoverage[] = [];
  if (head) {
    for (const [path, lines] of [...input.added].sort(([a], [b]) => a.localeCompare(b))) {
      const hits = linesOf(head, path);
      const measured = hits ? lines.filter((l) => hits.has(l)) : [];
      const uncovered = measured.filter((l) => hits!.get(l) === 0);
      files.push({
        path,
        added: lines.length,
        measured: measured.length,
        covered: measured.length - uncovered.length,
        uncovered: ranges(uncovered),
        inReport: hits !== undefined,
      });
    }
  }
  const sum = (key: 'added' | 'measured' | 'covered') => files.reduce((n, f) => n + f[key], 0);
  const withPercent = (t: LineTotals | undefined) => (t ? { ...t, percent: percent(t.covered, t.total) } : null);
  const baseTotals = withPercent(base?.totals);
  const headTotals = withPercent(head?.totals);
  // Files with measured lines first (what a reviewer acts on), then those the report does not have.
  const ordered = [...files.filter((f) => f.measured > 0), ...files.filter((f) => f.measured === 0)];
  return {
    format: input.format,
    report: input.report,
    changedLines: head
      ? { added: sum('added'), measured: sum('measured'), covered: sum('covered'), percent: percent(sum('covered'), sum('measured')) }
      : null,
    files: ordered.slice(0, LISTED_FILES),
    filesNotListed: Math.max(0, ordered.length - LISTED_FILES),
    base: baseTotals,
    head: headTotals,
    deltaPoints:
      baseTotals?.percent != null && headTotals?.percent != null ? Math.round((headTotals.percent - baseTotals.percent) * 10) / 10 : null,
    notes,
  };
}

/** [4, 5, 6, 9] → "4-6, 9" (at most 20 ranges, then "…"). */
export function ranges(lines: readonly number[]): string {
  const sorted = [...lines].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.length > 20 ? `${parts.slice(0, 20).join(', ')}, …` : parts.join(', ');
}

const pct = (p: number | null) => (p === null ? 'n/a' : `${p.toFixed(1)}%`);
const points = (d: number) => `${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d).toFixed(1)} pts`;
const code = (text: string) => `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|')}\``;

/** The PR body's coverage section. */
export function changeCoverageMarkdown(e: ChangeCoverageEvidence): string {
  const lines = [`## Coverage of the change\nFrom ${code(e.report)} (${e.format}), written by the test command at base and at head.`];
  if (e.changedLines) {
    const c = e.changedLines;
    lines.push(
      c.measured === 0
        ? `**Changed lines:** none of the ${c.added} added line${c.added === 1 ? '' : 's'} is in the coverage report at head.`
        : `**Changed lines:** ${c.covered} of ${c.measured} added executable line${c.measured === 1 ? '' : 's'} covered at head (${pct(c.percent)})${c.added > c.measured ? `; ${c.added - c.measured} added line${c.added - c.measured === 1 ? ' is' : 's are'} not executable or not in the report` : ''}.`,
    );
  } else lines.push('**Changed lines:** no coverage report at head, so no figure.');
  const total = (t: ChangeCoverageEvidence['base']) => (t ? `${pct(t.percent)} (${t.covered}/${t.total} lines)` : 'no report');
  lines.push(
    `**Line coverage:** ${total(e.base)} at base → ${total(e.head)} at head${e.deltaPoints !== null ? ` (${points(e.deltaPoints)})` : ''}.`,
  );
  if (e.files.length) {
    const rows = e.files.map(
      (f) => `| ${code(f.path)} | ${f.added} | ${f.inReport ? `${f.covered}/${f.measured}` : 'not in report'} | ${f.uncovered || '–'} |`,
    );
    lines.push(
      `| file | added lines | covered / executable | uncovered added lines |\n|---|---|---|---|\n${rows.join('\n')}${e.filesNotListed ? `\n\n… and ${e.filesNotListed} more file(s) not listed.` : ''}`,
    );
  }
  if (e.notes.length) lines.push(e.notes.map((n) => `- ${n}`).join('\n'));
  return lines.join('\n\n');
}
