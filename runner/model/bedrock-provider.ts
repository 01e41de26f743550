import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import * as z from 'zod';
import { ConverseResponse } from './converse-response';
import {
  abortableSleep,
  defaultRetryPolicy,
  InvalidModelRequestError,
  isNetworkError,
  isUnbilledModelError,
  ModelCallError,
  ModelResponseError,
  withRetries,
  type RetryPolicy,
  type Sleep,
} from './model-errors';
import type { ModelProvider, ModelRequest } from './provider';
import { converseRequestViolations } from './request-rules';

export { abortableSleep, defaultRetryPolicy, ModelResponseError, type RetryPolicy, type Sleep } from './model-errors';

const retryableNames = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelNotReadyException',
  'ModelErrorException',
]);

/**
 * Worth another attempt: throttling, 5xx, a connection refused or cut (also after the response began,
 * which the AWS SDK reports without a status), and the same kinds from the HTTP providers. Whether
 * the provider or the run retries it depends on whether it may have been billed (isUnbilledModelError).
 */
export function isRetryableModelError(err: unknown): boolean {
  if (err instanceof ModelCallError) return err.retryable;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name && retryableNames.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  return isNetworkError(err) || isCutResponse(err);
}

/**
 * A body cut after a 200 status line reaches the caller as a plain Error wrapping Node's "aborted"
 * (no name, code or status survive the SDK's deserialisation wrapper), so its message is all there is.
 */
function isCutResponse(err: unknown): boolean {
  const message = (err as { message?: unknown }).message;
  return (
    typeof message === 'string' && /^AWS SDK error wrapper for Error: (aborted|socket hang up|terminated|read ECONNRESET)\b/.test(message)
  );
}

/**
 * Bedrock's Converse API. Failures answered before inference (throttling, a model not ready) are
 * retried here with capped, jittered exponential backoff; a failure that may have been billed (5xx,
 * a cut connection) is not: the agent loop settles its reservation at the worst case and retries
 * under a new one. A request that breaks the Converse rules is refused before it is sent.
 */
export class BedrockProvider implements ModelProvider {
  readonly kind = 'bedrock' as const;
  readonly description: string;

  private loaded: Promise<{ client: BedrockRuntimeClient; sdk: typeof import('@aws-sdk/client-bedrock-runtime') }> | undefined;

  /** `client`: the Bedrock runtime client, or how to make it at the first call (the SDK package is loaded then, not at the runner's start). */
  constructor(
    private readonly client: BedrockRuntimeClient | (() => Promise<BedrockRuntimeClient>),
    modelId: string,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
    private readonly sleep: Sleep = abortableSleep,
  ) {
    this.description = `Amazon Bedrock (${modelId})`;
  }

  /** The client and the SDK's commands, made and loaded at the first call. */
  private load() {
    this.loaded ??= Promise.all([
      typeof this.client === 'function' ? this.client() : this.client,
      import('@aws-sdk/client-bedrock-runtime'),
    ]).then(([client, sdk]) => ({ client, sdk }));
    return this.loaded;
  }

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    const violations = converseRequestViolations(request);
    if (violations.length > 0) throw new InvalidModelRequestError('Converse', violations);
    const { client, sdk } = await this.load();
    return withRetries(
      async () => {
        const raw = await client.send(new sdk.ConverseCommand(request), { abortSignal: signal });
        const parsed = ConverseResponse.safeParse(raw);
        if (!parsed.success) throw new ModelResponseError(z.prettifyError(parsed.error));
        return parsed.data;
      },
      { isRetryable: (err) => isRetryableModelError(err) && isUnbilledModelError(err), policy: this.retry, sleep: this.sleep, signal },
    );
  }
}
