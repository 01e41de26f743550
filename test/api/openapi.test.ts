import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { inboxRoutes, runRoutes } from '../../infra/constructs/api';
import { WEBHOOK_ROUTE_PATH } from '../../infra/constructs/github-webhook';
import { handler as openApiHandler } from '../../lambdas/api/get-openapi';
import { openApiDocument } from '../../lambdas/api/openapi';
import { generatedSchemaFiles } from '../../scripts/schema-files';
import { openApiValidator } from '../support/openapi-validator';

const repoRoot = join(__dirname, '..', '..');
const document = openApiDocument();
type Operations = Record<string, Record<string, { responses: Record<string, unknown> }>>;

describe('the OpenAPI document', () => {
  it('Given the schemas, When docs/schemas is compared with what they generate, Then it is up to date (npm run schemas)', () => {
    for (const file of generatedSchemaFiles())
      expect({ path: file.path, text: readFileSync(join(repoRoot, file.path), 'utf8') }).toEqual(file);
  });

  it('Given the document, When its schemas are compiled as JSON Schema 2020-12, Then every component and reference resolves', () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(document, 'openapi.json');
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
    for (const name of Object.keys(schemas)) expect(() => ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` })).not.toThrow();
    expect(document.openapi).toBe('3.1.0');
  });

  it('Given the routes the stack deploys, When the document is read, Then it describes each of them', () => {
    const paths = document.paths as Operations;
    const described = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
    const deployed = [
      ...[...runRoutes, ...inboxRoutes].map((r) => `${r.method} ${r.path}`),
      'GET /v1/openapi.json',
      'GET /v1/admin/intake',
      'POST /v1/admin/intake',
      `POST ${WEBHOOK_ROUTE_PATH}`,
    ];
    expect(described.sort()).toEqual(deployed.sort());
  });

  it('Given an answer that breaks the schema, When it is checked, Then the validator says so (the answers test can fail)', () => {
    const validator = openApiValidator(document);
    expect(
      validator.check('POST', '/v1/runs', 202, {
        runId: '01JZ0000000000000000000000',
        status: 'QUEUED',
        links: { self: '', events: '', cancel: '' },
      }),
    ).toEqual([]);
    expect(validator.check('POST', '/v1/runs', 202, { runId: 'x', status: 'QUEUED' })).not.toEqual([]);
    expect(
      validator.check('POST', '/v1/runs', 202, {
        runId: '01JZ0000000000000000000000',
        status: 'QUEUED',
        links: { self: '', events: '', cancel: '' },
        extra: 1,
      }),
    ).not.toEqual([]);
    expect(validator.check('GET', '/v1/runs/{runId}', 418, { error: { code: 'x', message: 'y' } })).toEqual([
      'GET /v1/runs/{runId} does not document status 418',
    ]);
  });

  it('Given GET /v1/openapi.json, When the handler answers, Then it is the document as JSON with x-request-id', async () => {
    const answer = await openApiHandler({ requestContext: { requestId: 'req-1' } });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['x-request-id']).toBe('req-1');
    expect(JSON.parse(answer.body)).toEqual(document);
  });
});
