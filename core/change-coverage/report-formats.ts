import * as z from 'zod';
import { CoverageReportError, scanXml } from './xml-subset';

export { CoverageReportError } from './xml-subset';

/**
 * Coverage reports as the tools write them, each parsed to one per-file line map (line number →
 * hit count, only for the lines the tool instruments). The report is written by the repository's
 * tests, so by code the agent may have changed: every parser is strict and bounded, and a report it
 * cannot read is a CoverageReportError (the run shows no figure and says why), never a crash.
 *
 * - `lcov`: `SF:` / `DA:line,hits` / `end_of_record` (lcov, Istanbul/jest/c8/vitest `lcov.info`, node --test's lcov reporter).
 * - `cobertura`: `<coverage><sources><source>` and `<packages><package><classes><class filename><lines><line number hits>`
 *   (coverage.py `coverage xml`, Istanbul's cobertura reporter, many JVM/.NET tools); method-level `<lines>` repeat
 *   the class's and are not counted again.
 * - `jacoco`: `<report><package name><sourcefile name><line nr mi ci>` (JaCoCo XML); a line is covered when `ci > 0`.
 *   Its paths are relative to a source root the report does not name (`com/example/Add.java`).
 * - `istanbul-json`: Istanbul's `coverage-final.json` (jest/nyc/c8/vitest `json` reporter). A line's hits are the
 *   most hits of the statements starting on it, as Istanbul's own lcov reporter counts them. `coverage-summary.json`
 *   is not accepted: it holds per-file totals only, so it cannot say which changed lines ran.
 */
export const CoverageFormat = z.enum(['lcov', 'cobertura', 'jacoco', 'istanbul-json']);
export type CoverageFormat = z.infer<typeof CoverageFormat>;

export interface FileLineCoverage {
  /** The path as the report names it (absolute, relative to the repository, or to `sourceRoots`). */
  path: string;
  lines: Map<number, number>;
}

export interface CoverageReport {
  format: CoverageFormat;
  files: FileLineCoverage[];
  /** Cobertura's `<source>` directories, which relative `filename`s are under. */
  sourceRoots: string[];
  /** True when paths are relative to an unnamed source root (JaCoCo): matched as a suffix of a repository path. */
  sourceRootRelative: boolean;
}

/** Bounds on what one report may hold: a hostile report cannot make the runner build an unbounded map. */
export const COVERAGE_LIMITS = { files: 50_000, linesPerFile: 1_000_000, totalLines: 5_000_000 } as const;

export function parseCoverageReport(format: CoverageFormat, text: string): CoverageReport {
  switch (format) {
    case 'lcov':
      return parseLcov(text);
    case 'cobertura':
      return parseCobertura(text);
    case 'jacoco':
      return parseJacoco(text);
    case 'istanbul-json':
      return parseIstanbulJson(text);
  }
}

/** Collects files, merging repeated entries for one path (lcov and Cobertura may list a file more than once). */
class FileCollector {
  private readonly byPath = new Map<string, Map<number, number>>();
  private totalLines = 0;

  file(path: string): Map<number, number> {
    if (path === '' || path.includes('\0')) throw new CoverageReportError('a file entry without a usable path');
    let lines = this.byPath.get(path);
    if (!lines) {
      if (this.byPath.size >= COVERAGE_LIMITS.files) throw new CoverageReportError(`more than ${COVERAGE_LIMITS.files} files`);
      lines = new Map();
      this.byPath.set(path, lines);
    }
    return lines;
  }

  hit(lines: Map<number, number>, line: number, hits: number): void {
    if (!Number.isSafeInteger(line) || line < 1) throw new CoverageReportError(`line number ${line} is not a positive integer`);
    if (!Number.isFinite(hits) || hits < 0) throw new CoverageReportError(`hit count ${hits} on line ${line} is not a count`);
    const before = lines.get(line);
    if (before === undefined) {
      if (lines.size >= COVERAGE_LIMITS.linesPerFile || ++this.totalLines > COVERAGE_LIMITS.totalLines)
        throw new CoverageReportError('more lines than a report may hold');
      lines.set(line, hits);
    } else lines.set(line, before + hits);
  }

  files(): FileLineCoverage[] {
    return [...this.byPath].map(([path, lines]) => ({ path, lines }));
  }
}

const count = (text: string | undefined, what: string): number => {
  if (text === undefined || !/^\d{1,15}$/.test(text.trim()))
    throw new CoverageReportError(`${what} "${(text ?? '').slice(0, 20)}" is not a whole number`);
  return Number(text.trim());
};

export function parseLcov(text: string): CoverageReport {
  const collector = new FileCollector();
  let current: Map<number, number> | undefined;
  let records = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line === 'end_of_record') {
      if (!current) throw new CoverageReportError(`lcov line ${index + 1}: end_of_record without SF`);
      current = undefined;
      records++;
      return;
    }
    const m = /^([A-Z]+):(.*)$/.exec(line);
    if (!m) throw new CoverageReportError(`lcov line ${index + 1} is not an lcov record`);
    if (m[1] === 'SF') {
      if (current) throw new CoverageReportError(`lcov line ${index + 1}: SF before the previous end_of_record`);
      current = collector.file(m[2]!);
    } else if (m[1] === 'DA') {
      if (!current) throw new CoverageReportError(`lcov line ${index + 1}: DA outside a file record`);
      // DA:<line>,<hits>[,<checksum>]
      const [lineNo, hits] = m[2]!.split(',');
      collector.hit(current, count(lineNo, 'line number'), count(hits, 'hit count'));
    }
    // TN, FN, FNDA, FNF, FNH, BRDA, BRF, BRH, LF, LH and the like carry nothing per line.
  });
  if (current) throw new CoverageReportError('lcov: the last file record has no end_of_record (truncated?)');
  if (records === 0) throw new CoverageReportError('lcov: no file records');
  return { format: 'lcov', files: collector.files(), sourceRoots: [], sourceRootRelative: false };
}

export function parseCobertura(xml: string): CoverageReport {
  const collector = new FileCollector();
  const sourceRoots: string[] = [];
  let root: string | undefined;
  let current: Map<number, number> | undefined;
  scanXml(xml, {
    open(name, attributes, ancestors) {
      if (ancestors.length === 0) root = name;
      if (name === 'class' && ancestors.at(-1) === 'classes') {
        const filename = attributes.filename;
        if (filename === undefined) throw new CoverageReportError('cobertura: a <class> without filename');
        current = collector.file(filename);
      } else if (name === 'line' && ancestors.at(-1) === 'lines' && ancestors.at(-2) === 'class') {
        if (!current) throw new CoverageReportError('cobertura: a <line> outside a <class>');
        collector.hit(current, count(attributes.number, 'line number'), count(attributes.hits, 'hit count'));
      }
    },
    text(text, ancestors) {
      if (ancestors.at(-1) === 'source' && ancestors.at(-2) === 'sources') sourceRoots.push(text.trim());
    },
  });
  if (root !== 'coverage') throw new CoverageReportError(`cobertura: the root element is <${root}>, not <coverage>`);
  return { format: 'cobertura', files: collector.files(), sourceRoots: sourceRoots.filter((s) => s !== ''), sourceRootRelative: false };
}

export function parseJacoco(xml: string): CoverageReport {
  const collector = new FileCollector();
  let root: string | undefined;
  let pkg: string | undefined;
  let current: Map<number, number> | undefined;
  scanXml(xml, {
    open(name, attributes, ancestors) {
      if (ancestors.length === 0) root = name;
      const parent = ancestors.at(-1);
      if (name === 'package' && (parent === 'report' || parent === 'group')) pkg = attributes.name ?? '';
      else if (name === 'sourcefile' && parent === 'package') {
        if (!attributes.name) throw new CoverageReportError('jacoco: a <sourcefile> without name');
        current = collector.file(pkg ? `${pkg.replace(/\/+$/, '')}/${attributes.name}` : attributes.name);
      } else if (name === 'line' && parent === 'sourcefile') {
        if (!current) throw new CoverageReportError('jacoco: a <line> outside a <sourcefile>');
        // mi: missed instructions, ci: covered instructions on the line.
        count(attributes.mi, 'missed instructions');
        collector.hit(current, count(attributes.nr, 'line number'), count(attributes.ci, 'covered instructions'));
      }
    },
  });
  if (root !== 'report') throw new CoverageReportError(`jacoco: the root element is <${root}>, not <report>`);
  return { format: 'jacoco', files: collector.files(), sourceRoots: [], sourceRootRelative: true };
}

const Position = z.object({ line: z.number().int().min(1) }).loose();
const IstanbulFile = z
  .object({
    path: z.string().min(1).optional(),
    statementMap: z.record(z.string(), z.object({ start: Position }).loose()),
    s: z.record(z.string(), z.number().min(0)),
  })
  .loose();
const IstanbulCoverage = z.record(z.string(), IstanbulFile);

export function parseIstanbulJson(text: string): CoverageReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CoverageReportError(`istanbul-json: not JSON (${(err as Error).message})`);
  }
  const parsed = IstanbulCoverage.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CoverageReportError(`istanbul-json: not a coverage-final.json (${issue.path.join('.') || '(root)'}: ${issue.message})`);
  }
  const collector = new FileCollector();
  for (const [key, file] of Object.entries(parsed.data)) {
    const lines = collector.file(file.path ?? key);
    // Istanbul's getLineCoverage: a line's count is the largest count of the statements starting on it.
    const perLine = new Map<number, number>();
    for (const [id, hits] of Object.entries(file.s)) {
      const statement = file.statementMap[id];
      if (!statement) continue;
      const line = statement.start.line;
      perLine.set(line, Math.max(perLine.get(line) ?? 0, hits));
    }
    for (const [line, hits] of perLine) collector.hit(lines, line, hits);
  }
  return { format: 'istanbul-json', files: collector.files(), sourceRoots: [], sourceRootRelative: false };
}
