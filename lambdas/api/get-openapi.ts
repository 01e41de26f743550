import { jsonResponse, requestIdOf, type ApiEvent, type ApiResult } from './http';
import { openApiDocument } from './openapi';

/** Built once per container: the document depends on the schemas only, never on the request or the config. */
const document = JSON.stringify(openApiDocument());

/**
 * `GET /v1/openapi.json`: the API's OpenAPI 3.1 description. Behind the API's authorizer like every
 * other route (it names no data, but a deployment's callers are the ones who need it); reads nothing.
 */
export async function handler(event: ApiEvent): Promise<ApiResult> {
  const answer = jsonResponse(200, null, requestIdOf(event), { 'cache-control': 'public, max-age=300' });
  return { ...answer, body: document };
}
