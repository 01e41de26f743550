import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The project's TypeScript sources as the architecture checks read them. `declarations` says whether
 * `.d.ts` files count: not for the module graph at run time (a declaration loads nothing), yes for
 * what a layer names (a declaration names modules too).
 */
export interface SourceSelection {
  declarations: boolean;
}

/** The `.ts` and `.tsx` files under `dir`, node_modules and cdk.out left out. */
export function typescriptSources(dir: string, { declarations }: SourceSelection): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'cdk.out' ? [] : typescriptSources(path, { declarations });
    return /\.tsx?$/.test(entry.name) && (declarations || !entry.name.endsWith('.d.ts')) ? [path] : [];
  });
}

/**
 * The file a relative specifier names from `fromDir`: the path itself, with `.ts` or `.tsx` (or `.d.ts`
 * with declarations), or its folder's index.ts. Without declarations only a TypeScript file answers
 * (a module of the graph); with them whatever file the path names.
 */
export function resolveSpecifier(fromDir: string, specifier: string, { declarations }: SourceSelection): string | undefined {
  const base = resolve(fromDir, specifier);
  const candidates = declarations
    ? [base, `${base}.ts`, `${base}.tsx`, `${base}.d.ts`, join(base, 'index.ts')]
    : [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].filter((c) => c.endsWith('.ts') || c.endsWith('.tsx'));
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}
