import Ajv2020 from 'ajv/dist/2020';

/**
 * Whether a tool's input schema is one the providers accept: a valid JSON Schema (draft 2020-12, the
 * dialect Anthropic and OpenAI document for tool parameters) whose top level is `type: "object"`.
 * The runner's schemas never change within a process, so each distinct schema is checked once.
 */
const ajv = new Ajv2020({ strict: false, validateSchema: false });
const checked = new Map<string, string | null>();

export function toolSchemaProblem(schema: unknown): string | null {
  const key = JSON.stringify(schema) ?? 'undefined';
  const known = checked.get(key);
  if (known !== undefined) return known;
  let problem: string | null = null;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) problem = 'is not a JSON object';
  else if ((schema as { type?: unknown }).type !== 'object') problem = 'must have "type": "object" at the top level';
  else {
    const valid = ajv.validateSchema(schema as object) as boolean;
    if (!valid) problem = `is not a valid JSON Schema: ${ajv.errorsText(ajv.errors)}`;
  }
  if (checked.size > 1_000) checked.clear();
  checked.set(key, problem);
  return problem;
}
