import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { resolveSpecifier, typescriptSources } from '../support/typescript-sources';

/**
 * Every module a source file names, however it names it: `import` and `export … from` (type-only
 * included), `require(…)`, `import(…)` and `typeof import(…)`. Project modules come back as
 * project-relative paths, packages as their specifier. Unlike importGraph (cycles at run time), a
 * type-only import counts here: the rule is about what a layer knows of, not only what it loads.
 */
export interface NamedModule {
  file: string;
  /** `core/runs/admission.ts`, or a package specifier such as `@aws-sdk/lib-dynamodb`. */
  target: string;
}

/** A declaration file names modules too: what a layer knows of includes them. */
const named = { declarations: true };

export function namedModules(root: string, dirs: string[]): NamedModule[] {
  const found: NamedModule[] = [];
  for (const file of dirs.flatMap((dir) => typescriptSources(join(root, dir), named))) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(
      file,
      text,
      ts.ScriptTarget.Latest,
      true,
      file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    );
    const from = relative(root, file);
    const add = (specifier: string) => {
      if (!specifier.startsWith('.')) found.push({ file: from, target: specifier });
      else
        found.push({
          file: from,
          target: relative(root, resolveSpecifier(dirname(file), specifier, named) ?? resolve(dirname(file), specifier)),
        });
    };
    const visit = (node: ts.Node) => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      )
        add(node.moduleSpecifier.text);
      else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
        const callee = node.expression;
        if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require'))
          add((node.arguments[0] as ts.StringLiteral).text);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
        add(node.argument.literal.text);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

export interface LayerRule {
  /** Files under this folder (project-relative). */
  layer: string;
  /** Folders (`local`) or package patterns (/^@aws-sdk\//) it must not name. */
  forbidden: Array<string | RegExp>;
  /** Files of the layer allowed to name a forbidden module, each with the reason. */
  except?: Record<string, string>;
}

/** `file → target` for every module a layer names against its rule. */
export function layerViolations(modules: NamedModule[], rules: LayerRule[]): string[] {
  const found: string[] = [];
  for (const { file, target } of modules)
    for (const rule of rules) {
      if (!file.startsWith(`${rule.layer}/`) || rule.except?.[file] !== undefined) continue;
      if (rule.forbidden.some((f) => (typeof f === 'string' ? target.startsWith(`${f}/`) : f.test(target))))
        found.push(`${file} → ${target}`);
    }
  return [...new Set(found)].sort();
}
