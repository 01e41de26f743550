import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { TokenBrokerRequest } from '../lambdas/token-broker-contract';

export class TokenBrokerRefusedError extends Error {
  constructor(reason: string) {
    super(`the token broker refused: ${reason}`);
    this.name = 'TokenBrokerRefusedError';
  }
}

/**
 * One synchronous call of the token broker Lambda (only the runner task role may invoke it). The
 * answer holds a token or secret values: the caller parses it and never logs or traces it.
 */
export async function invokeTokenBroker(client: LambdaClient, functionName: string, request: TokenBrokerRequest): Promise<unknown> {
  const out = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }));
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) {
    // The error payload names the refusal; it never carries a token or a secret value.
    let message = out.FunctionError;
    try {
      const parsed = JSON.parse(text) as { errorMessage?: string };
      if (parsed.errorMessage) message = parsed.errorMessage;
    } catch {
      /* keep the FunctionError name */
    }
    throw new TokenBrokerRefusedError(message.slice(0, 300));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TokenBrokerRefusedError('malformed broker response');
  }
}
