import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { ForgeUser } from './forge-records';
import type { PendingDelivery } from './forge-webhooks';

/**
 * The local forge's HTTP plumbing: reading a request's JSON body, the error a route throws to answer
 * with a status, what a route answers and how that is written back the way GitHub's REST API writes it.
 */

/** What a route throws to answer with a status and GitHub's `message` (and `errors`, when given). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
  }
}

const MAX_BODY = 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'Problems parsing JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** What a route answers: JSON, or a diff, plain text, raw file or redirect; and the webhooks to deliver after it. */
export interface ForgeAnswer {
  status: number;
  json: unknown;
  diff?: string;
  text?: string;
  location?: string;
  raw?: string;
  deliveries?: PendingDelivery[];
}

/** A request to `/repos/{owner}/{repo}/...`, once the repository exists and a write's token is verified. */
export interface RepoRequest {
  method: string;
  /** The `Accept` header (diff and raw answers are asked for with it). */
  accept: string;
  url: URL;
  body: unknown;
  repo: string;
  /** The bare repository's path. */
  bare: string;
  /** The path after `/repos/{owner}/{repo}`, decoded. */
  rest: string[];
  /** Who writes: the token's person, else the platform's bot. */
  writer: ForgeUser;
  /** The writer as webhooks name them. */
  sender: { login: string; type: string; id: number };
}

/** The routes of one resource: their answer, or undefined when none of them matches the request. */
export type RepoRoutes = (request: RepoRequest) => Promise<ForgeAnswer | undefined>;

/** The answer to a failed request, shaped as GitHub's errors (a zod failure is GitHub's 422 Validation Failed). */
export function errorAnswer(err: unknown): ForgeAnswer {
  if (err instanceof HttpError)
    return {
      status: err.status,
      json: { message: err.message, ...(err.errors ? { errors: err.errors } : {}), documentation_url: 'https://docs.github.com/rest' },
    };
  if (err instanceof z.ZodError)
    return {
      status: 422,
      json: {
        message: 'Validation Failed',
        errors: err.issues.map((i) => ({ field: i.path.join('.'), code: 'invalid', message: i.message })),
      },
    };
  return { status: 500, json: { message: (err as Error).message } };
}

export function writeAnswer(res: ServerResponse, { status, json, diff, text, location, raw }: ForgeAnswer): void {
  if (location !== undefined && status === 302) {
    res.writeHead(302, { location });
    res.end();
    return;
  }
  if (text !== undefined && status === 200) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text);
    return;
  }
  if (diff !== undefined && status === 200) {
    res.writeHead(200, { 'content-type': 'application/vnd.github.diff; charset=utf-8', 'x-github-media-type': 'github.v3; format=diff' });
    res.end(diff);
    return;
  }
  if (raw !== undefined && status === 200) {
    res.writeHead(200, { 'content-type': 'application/vnd.github.raw; charset=utf-8', 'x-github-media-type': 'github.v3; format=raw' });
    res.end(raw);
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3' });
  res.end(JSON.stringify(json));
}
