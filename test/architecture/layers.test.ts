import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { layerViolations, namedModules, type LayerRule } from './layer-rules';

/**
 * The layers (docs/architecture.md, Where each concern lives): core/ is the domain and its ports;
 * adapters/ implements ports over DynamoDB and HTTP; lambdas/, runner/, infra/ and cli/ are what is
 * deployed or installed; local/ is local mode. core/ needs no AWS package at all, types included:
 * its ports speak RunRecord and plain values, and `isConditionFailure` lives with the adapters.
 */
const rules: LayerRule[] = [
  { layer: 'core', forbidden: ['adapters', 'local', 'lambdas', 'runner', 'infra', 'cli', 'console', /^@aws-sdk\//, /^@smithy\//] },
  { layer: 'adapters', forbidden: ['local', 'lambdas', 'runner', 'infra', 'cli', 'console'] },
  ...['lambdas', 'runner', 'infra'].map((layer) => ({ layer, forbidden: ['local'] })),
  {
    layer: 'cli',
    forbidden: ['local'],
    except: {
      'cli/dev.ts': '`nightshift dev` starts local mode (required when the command runs, not when the CLI loads)',
      'cli/program.ts': '`nightshift demo` starts local mode (required when the command runs)',
      'cli/commands/forge.ts': '`nightshift forge` acts on the local forge of a running local mode',
    },
  },
];

describe('the layers', () => {
  const root = join(__dirname, '../..');
  const modules = namedModules(root, ['core', 'adapters', 'lambdas', 'runner', 'infra', 'cli', 'local']);

  it('Given the repository, When every module it names is read, Then the adapters are there and named by the handlers', () => {
    expect(modules.some((m) => m.file.startsWith('adapters/dynamodb/') && m.target === '@aws-sdk/lib-dynamodb')).toBe(true);
    expect(modules.some((m) => m.file.startsWith('lambdas/') && m.target.startsWith('adapters/dynamodb/'))).toBe(true);
    // A require() inside a function counts: `nightshift dev` loads local mode that way.
    expect(modules).toContainEqual({ file: 'cli/dev.ts', target: 'local/platform.ts' });
  });

  it('Given the domain, Then it names no adapter, no local mode and no AWS SDK package, not even for a type', () => {
    expect(
      layerViolations(
        modules,
        rules.filter((r) => r.layer === 'core'),
      ),
    ).toEqual([]);
  });

  it('Given what is deployed or installed, Then it names nothing of local mode, except the CLI commands that start it', () => {
    expect(
      layerViolations(
        modules,
        rules.filter((r) => r.layer !== 'core'),
      ),
    ).toEqual([]);
    for (const file of Object.keys(rules.find((r) => r.layer === 'cli')!.except!))
      expect(modules.some((m) => m.file === file && m.target.startsWith('local/'))).toBe(true);
  });

  describe('on a fixture tree', () => {
    let fixture: string;
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(fixture, path)), { recursive: true });
      writeFileSync(join(fixture, path), text);
    };
    beforeAll(() => {
      fixture = mkdtempSync(join(tmpdir(), 'layers-'));
      write(
        'core/runs/finalize.ts',
        "import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';\nimport { createStore } from '../../adapters/dynamodb';\nimport * as z from 'zod';\n",
      );
      write('core/runs/view.ts', "export type Loaded = typeof import('../../local/home');\n");
      write(
        'adapters/dynamodb/index.ts',
        "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';\nimport { RunRecord } from '../../core/runs/run-record';\n",
      );
      write('lambdas/token-broker.ts', "export function issue() {\n  return require('../local/forge/forge-tokens');\n}\n");
      write('cli/dev.ts', "const platform = () => require('../local/platform');\n");
      write('cli/status.ts', "import { home } from '../local/home';\n");
    });
    afterAll(() => rmSync(fixture, { recursive: true, force: true }));

    it('Given a domain module that imports an adapter or a DynamoDB type, and a handler that requires local mode, When checked, Then each is a violation', () => {
      const found = layerViolations(namedModules(fixture, ['core', 'adapters', 'lambdas', 'cli']), rules);
      expect(found).toEqual([
        'cli/status.ts → local/home',
        'core/runs/finalize.ts → @aws-sdk/lib-dynamodb',
        'core/runs/finalize.ts → adapters/dynamodb/index.ts',
        'core/runs/view.ts → local/home',
        'lambdas/token-broker.ts → local/forge/forge-tokens',
      ]);
    });
  });
});
