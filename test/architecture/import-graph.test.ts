import { join } from 'node:path';
import { importCycles, importGraph, importsAcross } from './import-graph';

const graph = importGraph(join(__dirname, '../..'));

describe('the module graph', () => {
  it('Given the repository, When its import graph is built, Then every source folder is in it and the edges follow real imports', () => {
    const folders = new Set([...graph.edges.keys()].map((file) => file.split('/')[0]));
    for (const folder of ['core', 'adapters', 'lambdas', 'runner', 'local', 'cli', 'infra', 'console']) expect(folders).toContain(folder);
    // The graph follows real imports: the runner's entry reaches the session it runs.
    expect(graph.edges.get('runner/main.ts')).toContain('runner/run-session.ts');
  });

  it('Given the module graph, Then it has no import cycle at run time', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('Given the module graph with type-only imports, Then it has no import cycle either: the shapes phases share live in modules of their own', () => {
    expect(importCycles(importGraph(join(__dirname, '../..'), { withTypeImports: true }))).toEqual([]);
  });

  it('Given a graph with a cycle, When cycles are searched, Then the cycle is found once', () => {
    const cyclic = {
      edges: new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', ['c.ts']],
        ['c.ts', ['a.ts']],
        ['d.ts', ['a.ts']],
      ]),
    };
    expect(importCycles(cyclic)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('Given the module graph, Then the domain is free of the platform around it: core imports no handler, runner, local mode, stack, CLI or console', () => {
    expect(importsAcross(graph, 'core', ['lambdas', 'runner', 'local', 'infra', 'cli', 'console'])).toEqual([]);
  });

  it('Given the module graph, Then local mode stays out of what is deployed: the runner and the stack import nothing of it', () => {
    expect(importsAcross(graph, 'runner', ['local'])).toEqual([]);
    expect(importsAcross(graph, 'infra', ['local'])).toEqual([]);
  });

  it('Given the module graph, Then local mode stays out of the Lambda handlers: the forge tokens their local branch issues live with them (lambdas/github/forge-tokens.ts)', () => {
    expect(importsAcross(graph, 'lambdas', ['local'])).toEqual([]);
  });
});
