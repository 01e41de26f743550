import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import { ConverseResponse } from './converse-response';
import { isUnbilledModelError } from './model-errors';
import type { ModelProvider, ModelRequest } from './provider';

const retryableNames = new Set(['ThrottlingException', 'ServiceUnavailableException', 'InternalServerException', 'ModelNotReadyException', 'ModelErrorException']);

export function isRetryableModelError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name && retryableNames.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status === 429 || status >= 500);
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 };

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class ModelResponseError extends Error {
  constructor(reason: string) {
    super(`Bedrock returned a response the runner cannot use: ${reason}`);
    this.name = 'ModelResponseError';
  }
}

/**
 * Bedrock's Converse API. Failures answered before inference (throttling, a model not ready) are
 * retried here with capped, jittered exponential backoff; a failure that may have been billed (5xx)
 * is not: the agent loop settles its reservation at the worst case and retries under a new one.
 */
export class BedrockProvider implements ModelProvider {
  readonly kind = 'bedrock' as const;
  readonly description: string;

  constructor(
    private readonly client: BedrockRuntimeClient,
    modelId: string,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
    private readonly sleep: Sleep = abortableSleep,
  ) {
    this.description = `Amazon Bedrock (${modelId})`;
  }

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        const raw = await this.client.send(new ConverseCommand(request), { abortSignal: signal });
        const parsed = ConverseResponse.safeParse(raw);
        if (!parsed.success) throw new ModelResponseError(z.prettifyError(parsed.error));
        return parsed.data;
      } catch (err) {
        if (signal.aborted || attempt >= this.retry.attempts || !isRetryableModelError(err) || !isUnbilledModelError(err)) throw err;
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        await this.sleep(cap / 2 + Math.random() * (cap / 2), signal);
      }
    }
  }
}
