import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { resolveSpecifier, typescriptSources } from '../support/typescript-sources';

/**
 * The project's module graph as TypeScript sees it: each source file and the project files it imports
 * at run time (`import type` and `export type` are left out: they are erased and make no cycle at run
 * time), or with `withTypeImports` every module it names, types included.
 */
export interface ImportGraph {
  /** Project-relative path → the project-relative paths it imports at run time. */
  edges: Map<string, string[]>;
}

/** A declaration file loads nothing at run time: it is no module of the graph. */
const runTime = { declarations: false };
const SOURCE_DIRS = ['core', 'adapters', 'lambdas', 'runner', 'local', 'cli', 'infra', 'console', 'bench'];

export function importGraph(root: string, options: { withTypeImports?: boolean } = {}): ImportGraph {
  const edges = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap((dir) => typescriptSources(join(root, dir), runTime))) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const targets: string[] = [];
    for (const statement of source.statements) {
      const specifier = options.withTypeImports ? specifierOf(statement) : runtimeSpecifierOf(statement);
      if (!specifier?.startsWith('.')) continue;
      const target = resolveSpecifier(dirname(file), specifier, runTime);
      if (target) targets.push(relative(root, target));
    }
    edges.set(relative(root, file), [...new Set(targets)]);
  }
  return { edges };
}

/** The module a statement imports or re-exports, at run time or for its types only. */
function specifierOf(statement: ts.Statement): string | undefined {
  if (ts.isImportDeclaration(statement) || (ts.isExportDeclaration(statement) && statement.moduleSpecifier))
    return (statement.moduleSpecifier as ts.StringLiteral).text;
  return undefined;
}

/** The module a statement loads at run time, if any. */
function runtimeSpecifierOf(statement: ts.Statement): string | undefined {
  if (ts.isImportDeclaration(statement)) {
    const clause = statement.importClause;
    if (clause?.isTypeOnly) return undefined;
    // `import { type A, type B } from` is erased too.
    const bindings = clause?.namedBindings;
    if (
      clause &&
      !clause.name &&
      bindings &&
      ts.isNamedImports(bindings) &&
      bindings.elements.length > 0 &&
      bindings.elements.every((e) => e.isTypeOnly)
    )
      return undefined;
    return (statement.moduleSpecifier as ts.StringLiteral).text;
  }
  if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly)
    return (statement.moduleSpecifier as ts.StringLiteral).text;
  return undefined;
}

/** The import cycles: strongly connected components of more than one module (Tarjan), each sorted. */
export function importCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.edges.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!));
    }
    if (lowlinks.get(node) === indices.get(node)) {
      const component: string[] = [];
      for (;;) {
        const member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1 || (graph.edges.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.edges.keys()) if (!indices.has(node)) visit(node);
  return cycles;
}

/** Imports from a module under `from` into a module under one of `into` (project-relative folder prefixes). */
export function importsAcross(graph: ImportGraph, from: string, into: string[]): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph.edges) {
    if (!file.startsWith(`${from}/`)) continue;
    for (const target of targets) if (into.some((dir) => target.startsWith(`${dir}/`))) found.push(`${file} → ${target}`);
  }
  return found.sort();
}
