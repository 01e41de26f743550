import Ajv2020 from 'ajv/dist/2020';

/** JSON Pointer escaping of one path segment (RFC 6901). */
const pointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks answers against the OpenAPI document with Ajv's JSON Schema 2020-12 validator (OpenAPI 3.1's
 * dialect). `check` fails when the operation does not document the status, or the body does not match.
 */
export function openApiValidator(document: Record<string, unknown>) {
  // strict: false, because the document's own keys (openapi, info, paths) are not JSON Schema keywords.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(document, 'openapi.json');
  const paths = document.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
  return {
    check(method: string, pathTemplate: string, status: number, body: unknown): string[] {
      const operation = paths[pathTemplate]?.[method.toLowerCase()];
      if (!operation) return [`${method} ${pathTemplate} is not in the document`];
      const response = operation.responses[String(status)];
      if (!response) return [`${method} ${pathTemplate} does not document status ${status}`];
      if (!response.content?.['application/json']) return [`${method} ${pathTemplate} ${status} has no JSON body`];
      const ref = `openapi.json#/paths/${pointer(pathTemplate)}/${method.toLowerCase()}/responses/${status}/content/${pointer('application/json')}/schema`;
      const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
      if (validate(body)) return [];
      return (validate.errors ?? []).map(
        (e) => `${method} ${pathTemplate} ${status}: ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
      );
    },
  };
}
