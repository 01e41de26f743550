import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestSigner } from '../../cli/sigv4';
import * as z from 'zod';
import { RunDiffAnswer } from '../../lambdas/api/answers';
import type { ConsoleConfig } from '../contract';
import { protectedPathsOfNightshiftYml } from './nightshift-yml-paths';
import { classifiedRunDiff } from './run-diff';
import { createConsoleHost } from './console-host';
import { SECURITY_HEADERS, sendError } from './console-responses';
import { guardRequest } from './request-guard';

/**
 * `nightshift console` (docs/console.md#opening-it): the web console for a deployed stack, on loopback. It serves the
 * same page as local mode and forwards the page's `/v1` calls to the stack's API, signed with the
 * caller's AWS credentials (SigV4) or carrying their bearer token (JWT auth), so the API's own
 * authorization decides everything, exactly as for the CLI. Only the console's own page can use it
 * (request-guard.ts); the browser's cookies and authorization headers are never forwarded.
 */
export interface StackConsoleOptions {
  /** The stack's API base URL (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  apiUrl: URL;
  /** 0 picks a free port. */
  port: number;
  signer?: RequestSigner;
  bearerToken?: string;
  /** The allowlist the submit form offers (from the local nightshift.config.json the stack was deployed with). */
  repos: ConsoleConfig['repos'];
  budgets: ConsoleConfig['budgets'];
  /** For tests: how to reach the API (default: global fetch). */
  fetch?: typeof fetch;
}

export interface StackConsole {
  url: string;
  stop(): Promise<void>;
}

/** What GET /v1/runs/{runId}/diff answers, but the run id: the text this console classifies (unknown fields dropped, not refused). */
const RunDiffText = z.object(RunDiffAnswer.shape).omit({ runId: true });

/** The API refuses bodies over 64 KiB itself; the proxy does not buffer more than that. */
const MAX_BODY_BYTES = 64 * 1024 + 1;
/** The request headers the page may send on to the API; everything else (cookies, authorization, origin) stays here. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type', 'idempotency-key', 'x-nightshift-source'] as const;
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'x-request-id', 'apigw-requestid', 'retry-after'] as const;

export async function startStackConsole(options: StackConsoleOptions): Promise<StackConsole> {
  const doFetch = options.fetch ?? fetch;
  let port = 0;

  const callApi = async (
    method: 'GET' | 'POST',
    pathAndQuery: string,
    requestHeaders: Record<string, string>,
    body: string | undefined,
  ) => {
    const base = options.apiUrl.toString().replace(/\/+$/, '');
    const url = new URL(`${base}${pathAndQuery}`);
    let headers: Record<string, string> = { ...requestHeaders, 'user-agent': 'nightshift-console/0.1.0' };
    if (options.bearerToken) headers.authorization = `Bearer ${options.bearerToken}`;
    if (options.signer) headers = await options.signer.sign({ method, url, headers, ...(body !== undefined ? { body } : {}) });
    return doFetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
  };

  const getApi = async (path: string) => {
    const response = await callApi('GET', path, { accept: 'application/json' }, undefined);
    return { status: response.status, body: await response.text() };
  };
  const host = createConsoleHost({
    config: () => ({ mode: 'stack', api: options.apiUrl.origin, repos: options.repos, budgets: options.budgets, diffs: true }),
    port: () => port,
    callApi: getApi,
    // The stack's API reads the diff text from GitHub (GET /v1/runs/{runId}/diff); this console marks its risky lines as local mode's does.
    diffs: {
      runDiff: async (run) => {
        const answer = await getApi(`/v1/runs/${encodeURIComponent(run.runId)}/diff`);
        if (answer.status === 200) {
          const text = RunDiffText.parse(JSON.parse(answer.body));
          return classifiedRunDiff({
            repo: text.repo,
            base: text.base,
            head: text.head,
            diffText: text.diff,
            protectedPaths: protectedPathsOfNightshiftYml(text.nightshiftYml),
            cut: text.truncated,
          });
        }
        const code = /"code"\s*:\s*"([a-z_]+)"/.exec(answer.body)?.[1];
        if (answer.status === 404 && code === 'no_branch') return undefined;
        throw new Error(`the API answered ${answer.status} ${code ?? ''} for the run's diff`.trim());
      },
    },
  });

  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') return sendError(res, 405, 'method_not_allowed', 'the API takes GET and POST');
    const body = method === 'POST' ? await readLimited(req) : undefined;
    if (body === 'too_large') return sendError(res, 413, 'payload_too_large', 'request bodies are limited to 64 KiB');
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    let response: Response;
    try {
      response = await callApi(method, req.url ?? '/', headers, body);
    } catch (error) {
      return sendError(
        res,
        502,
        'api_unreachable',
        `cannot reach the stack's API at ${options.apiUrl.origin}: ${(error as Error).message}`,
      );
    }
    const out: Record<string, string> = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) out[name] = value;
    }
    const answer = Buffer.from(await response.arrayBuffer());
    out['content-length'] = String(answer.length);
    res.writeHead(response.status, out);
    res.end(answer);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const verdict = guardRequest(req, port);
      if (!verdict.ok) return sendError(res, verdict.status, verdict.code, verdict.message);
      const path = new URL(req.url ?? '/', 'http://console.local').pathname;
      if (path === '/v1' || path.startsWith('/v1/')) return forward(req, res);
      return host(req, res);
    })().catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, 'console_error', (error as Error).message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readLimited(req: IncomingMessage): Promise<string | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return 'too_large';
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
