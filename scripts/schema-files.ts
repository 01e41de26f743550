import { CONFIG_SCHEMA_PATH, configJsonSchema } from '../core/config/json-schema';
import { openApiDocument } from '../lambdas/api/openapi';

/** The documents generated from the zod schemas and committed under docs/schemas/ (`npm run schemas`). */
export function generatedSchemaFiles(): { path: string; text: string }[] {
  const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return [
    { path: 'docs/schemas/openapi.json', text: text(openApiDocument()) },
    { path: CONFIG_SCHEMA_PATH, text: text(configJsonSchema()) },
  ];
}
