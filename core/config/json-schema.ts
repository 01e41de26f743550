import * as z from 'zod';
import { NightshiftConfig } from './schema';

/** Where the generated JSON Schema of nightshift.config.json lives, relative to the repository root. */
export const CONFIG_SCHEMA_PATH = 'docs/schemas/nightshift.config.schema.json';

/**
 * The JSON Schema (2020-12) of `nightshift.config.json`, generated from the zod schema the CDK app and
 * local mode parse it with, so an editor completes and checks the file (`"$schema":
 * "./docs/schemas/nightshift.config.schema.json"`). It describes the file as a person writes it
 * (fields with a default are optional). Checks across fields (perRunUsd ≤ maxPerRunUsd, duplicate
 * repos, provider-specific fields) are zod refinements JSON Schema cannot say: the loader still reports them.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(NightshiftConfig, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://nightshift.local/schemas/nightshift.config.schema.json',
    title: 'Nightshift configuration (nightshift.config.json)',
    description:
      'Every field, its default and its limits: docs/configuration.md. Generated from core/config/schema.ts by `npm run schemas`.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}
