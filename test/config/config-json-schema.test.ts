import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { CONFIG_SCHEMA_PATH, configJsonSchema } from '../../core/config/json-schema';
import { loadConfig } from '../../core/config/load';

const repoRoot = join(__dirname, '..', '..');
/** The example configurations a user copies from: the committed file, the demo's, and the docs' minimal file. */
const examples = ['nightshift.config.json', 'local/demo/nightshift.demo.json'];

function validator() {
  // The two formats the schema uses, checked as the loader's zod checks them.
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addFormat('uri', (value: string) => URL.canParse(value));
  ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  return ajv.compile(configJsonSchema());
}

function docsMinimalConfig(): unknown {
  const text = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  const block = /## Minimal file\s+```json\n([\s\S]*?)```/.exec(text);
  if (!block) throw new Error('docs/configuration.md has no minimal file');
  return JSON.parse(block[1]!);
}

describe('the JSON Schema of nightshift.config.json', () => {
  it('Given the example configurations, When an editor checks them against the schema, Then they are valid, and their $schema names the shipped file', () => {
    const validate = validator();
    for (const file of examples) {
      const config = JSON.parse(readFileSync(join(repoRoot, file), 'utf8')) as { $schema?: string };
      expect({ file, valid: validate(config), errors: validate.errors ?? null }).toEqual({ file, valid: true, errors: null });
      expect(resolve(dirname(join(repoRoot, file)), config.$schema ?? '')).toBe(join(repoRoot, CONFIG_SCHEMA_PATH));
    }
    expect(validate(docsMinimalConfig())).toBe(true);
  });

  it('Given a typo and a wrong type, When the schema checks the file, Then both are reported with their paths', () => {
    const validate = validator();
    const config = JSON.parse(readFileSync(join(repoRoot, 'nightshift.config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    config.budgets = { ...config.budgets, perRunUSD: 1 };
    config.timeouts = { ...config.timeouts, maxMinutes: 'sixty' };
    expect(validate(config)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    expect(paths).toEqual(expect.arrayContaining(['/budgets must NOT have additional properties', '/timeouts/maxMinutes must be integer']));
  });

  it('Given a config file with a $schema key, When the loader reads it, Then it is accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-schema-'));
    const file = join(dir, 'nightshift.config.json');
    writeFileSync(file, JSON.stringify({ $schema: './docs/schemas/nightshift.config.schema.json', ...(docsMinimalConfig() as object) }));
    expect(loadConfig(file).repos[0]!.name).toBe('acme/web');
  });
});
