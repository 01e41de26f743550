import { randomUUID } from 'node:crypto';
import { parse } from '@aws-lambda-powertools/parser';
import type { z } from 'zod';
import { requesterIdentity } from '../../core/runs/requester';

/**
 * The subset of an API Gateway HTTP API (payload v2) event the handlers read. Local mode builds the
 * same shape (lower-case header names, an IAM-shaped authorizer context).
 */
export interface ApiEvent {
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: {
    requestId?: string;
    authorizer?: {
      iam?: { userArn?: string | null };
      jwt?: { claims?: Record<string, unknown> };
    };
  };
}

export interface ApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface ErrorDetail {
  path: string;
  message: string;
}

/** A response the caller gets instead of the normal one: status, machine code, human message. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const maxBodyBytes = 64 * 1024;

export function requestIdOf(event: ApiEvent): string {
  const id = event.requestContext.requestId;
  return id && /^[A-Za-z0-9=_-]{1,128}$/.test(id) ? id : randomUUID();
}

export function header(event: ApiEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * The caller, as the authorizer established it: an IAM user ARN, an assumed role (without the
 * caller-chosen session name, core/runs/requester.ts), or a JWT subject.
 */
export function requesterOf(event: ApiEvent): string {
  const authorizer = event.requestContext.authorizer;
  const arn = authorizer?.iam?.userArn;
  if (typeof arn === 'string' && arn.length > 0 && arn.length <= 512) return requesterIdentity(arn);
  const sub = authorizer?.jwt?.claims?.sub;
  if (typeof sub === 'string' && sub.length > 0 && sub.length <= 512) return `jwt:${sub}`;
  throw new HttpError(401, 'unauthenticated', 'the request carries no caller identity');
}

/** The body as text, refusing bodies over 64 KiB before anything reads them. */
export function bodyText(event: ApiEvent): string {
  const raw = event.body ?? '';
  // Base64 of n bytes is 4n/3 characters: refuse on the encoded size before decoding a huge string.
  if (event.isBase64Encoded && raw.length > Math.ceil(maxBodyBytes / 3) * 4 + 4) throw tooLarge();
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBodyBytes) throw tooLarge();
  const text = bytes.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; refuse it instead of silently changing what the caller sent.
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new HttpError(400, 'malformed_body', 'the body is not valid UTF-8');
  return text;
}

function tooLarge(): HttpError {
  return new HttpError(413, 'body_too_large', `the body exceeds ${maxBodyBytes} bytes`);
}

/** Parses a JSON body; an absent body is `emptyAs` (undefined: refused). */
export function jsonBody(event: ApiEvent, emptyAs?: unknown): unknown {
  const text = bodyText(event);
  if (text.trim().length === 0) {
    if (emptyAs !== undefined) return emptyAs;
    throw new HttpError(400, 'malformed_json', 'the body must be a JSON object');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'malformed_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** A Standard Schema issue, as Powertools Parser reports them in `ParseError.cause`. */
interface SchemaIssue {
  message: string;
  path?: readonly (PropertyKey | { key: PropertyKey })[];
}

function pathOf(issue: SchemaIssue): string {
  const parts = (issue.path ?? []).map((p) => String(typeof p === 'object' && p !== null && 'key' in p ? p.key : p));
  return parts.length === 0 ? '(root)' : parts.join('.');
}

/** Validates `value` with a zod schema through Powertools Parser; failures are a 400 naming every bad field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = parse(value, undefined, schema, true);
  if (result.success) return result.data as z.output<T>;
  const issues = (result.error.cause ?? []) as readonly SchemaIssue[];
  const details = issues.map((issue) => ({ path: pathOf(issue), message: issue.message }));
  throw new HttpError(
    400,
    'invalid_request',
    `the ${what} is invalid: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`.slice(0, 1_000),
    details,
  );
}

export function jsonResponse(statusCode: number, body: unknown, requestId: string, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(error: HttpError, requestId: string): ApiResult {
  const body = {
    error: { code: error.code, message: error.message, ...(error.details && error.details.length > 0 ? { details: error.details } : {}) },
  };
  return jsonResponse(error.statusCode, body, requestId, error.headers);
}
