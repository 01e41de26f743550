import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Debian package sizes from apt's own indexes (the `Packages` files `apt-get update` fetched), for
 * estimating an image's size where no Docker engine can build it: what a set of packages adds on top
 * of a base is the Installed-Size of their dependency closure minus what the base already holds.
 */
export interface DebianPackage {
  name: string;
  /** Installed-Size, in KiB as Debian gives it. */
  installedKiB: number;
  /** The base of every Debian image (debootstrap's minbase): Priority required, or Essential. */
  base: boolean;
  /** Each Depends and Pre-Depends entry: its alternatives, in order. */
  depends: string[][];
  provides: string[];
}

export type PackageIndex = Map<string, DebianPackage>;

/** One `Packages` file's stanzas; a package listed twice (main and its updates) keeps the later entry. */
export function parsePackages(text: string, into: PackageIndex = new Map()): PackageIndex {
  for (const stanza of text.split(/\n\n+/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)} ${line.trim()}`);
      else {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        last = line.slice(0, colon);
        fields.set(last, line.slice(colon + 1).trim());
      }
    }
    const name = fields.get('Package');
    if (!name) continue;
    const nameOf = (alternative: string) => alternative.trim().split(/[\s(:]/)[0]!;
    const entries = (field: string) =>
      (fields.get(field) ?? '')
        .split(',')
        .map((entry) => entry.split('|').map(nameOf).filter(Boolean))
        .filter((alternatives) => alternatives.length > 0);
    into.set(name, {
      name,
      installedKiB: Number(fields.get('Installed-Size') ?? 0),
      base: fields.get('Priority') === 'required' || fields.get('Essential') === 'yes',
      depends: [...entries('Pre-Depends'), ...entries('Depends')],
      provides: entries('Provides').map((alternatives) => alternatives[0]!),
    });
  }
  return into;
}

/**
 * The packages `roots` pull in through Depends/Pre-Depends. Of an entry's alternatives (and of a virtual
 * name's providers) the one already chosen wins, then a base package, then the first as apt picks it
 * (`prefer: 'first'`) or the smallest (`'smallest'`: how debootstrap builds a minimal base, e.g.
 * `usr-is-merged` rather than `usrmerge` and its Perl).
 */
export function dependencyClosure(index: PackageIndex, roots: readonly string[], prefer: 'first' | 'smallest' = 'first'): Set<string> {
  const providers = new Map<string, string[]>();
  for (const p of index.values()) for (const v of p.provides) providers.set(v, [...(providers.get(v) ?? []), p.name]);
  const seen = new Set<string>();
  const candidates = (name: string) => (index.has(name) ? [name] : (providers.get(name) ?? []));
  const pick = (alternatives: readonly string[]): string => {
    const real = alternatives.flatMap(candidates);
    const fallback = prefer === 'first' ? real[0] : [...real].sort((a, b) => index.get(a)!.installedKiB - index.get(b)!.installedKiB)[0];
    const chosen = real.find((n) => seen.has(n)) ?? real.find((n) => index.get(n)!.base) ?? fallback;
    if (chosen === undefined) throw new Error(`no package is or provides ${alternatives.join(' | ')}`);
    return chosen;
  };
  const todo = roots.map((root) => [root]);
  while (todo.length > 0) {
    const name = pick(todo.shift()!);
    if (seen.has(name)) continue;
    seen.add(name);
    todo.push(...index.get(name)!.depends);
  }
  return seen;
}

/** KiB the packages of `roots` add to an image that already holds `installed`. */
export function addedKiB(
  index: PackageIndex,
  roots: readonly string[],
  installed: ReadonlySet<string>,
): { kib: number; packages: string[] } {
  const added = [...dependencyClosure(index, roots)].filter((name) => !installed.has(name)).sort();
  return { kib: added.reduce((sum, name) => sum + index.get(name)!.installedKiB, 0), packages: added };
}

/** The base set (debian:bookworm-slim's packages): every required or Essential package with what it depends on. */
export function baseSet(index: PackageIndex): Set<string> {
  return dependencyClosure(
    index,
    [...index.values()].filter((p) => p.base).map((p) => p.name),
    'smallest',
  );
}

/** This machine's apt indexes (amd64, all suites `apt-get update` fetched), decompressed by apt itself. */
export function localPackageIndex(listsDir = '/var/lib/apt/lists'): PackageIndex {
  const files = readdirSync(listsDir).filter((f) => /_binary-amd64_Packages(\.\w+)?$/.test(f));
  if (files.length === 0) throw new Error(`no Packages index in ${listsDir}: run apt-get update first`);
  // The suite itself before its -updates and -security, so that the later entry (the update) wins.
  const rank = (f: string) => (f.includes('-security') ? 2 : f.includes('-updates') ? 1 : 0);
  const index: PackageIndex = new Map();
  for (const file of files.sort((a, b) => rank(a) - rank(b))) {
    const text = execFileSync('/usr/lib/apt/apt-helper', ['cat-file', join(listsDir, file)], {
      maxBuffer: 512 * 1024 * 1024,
      encoding: 'utf8',
    });
    parsePackages(text, index);
  }
  return index;
}
