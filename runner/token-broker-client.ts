import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { TokenBrokerRequest } from '../lambdas/token-broker-contract';

export class TokenBrokerRefusedError extends Error {
  constructor(reason: string) {
    super(`the token broker refused: ${reason}`);
    this.name = 'TokenBrokerRefusedError';
  }
}

/** A broker request as the runner writes it: the caller adds the run key. */
export type BrokerCall = TokenBrokerRequest extends infer R ? (R extends TokenBrokerRequest ? Omit<R, 'runKey'> : never) : never;

/** The runner's connection to the token broker, bound to its run key (never logged, never in a child's environment). */
export interface BrokerCaller {
  call(request: BrokerCall): Promise<unknown>;
}

/**
 * One synchronous call of the token broker Lambda (only the runner task role may invoke it), with the
 * run key added. The answer may hold a token or secret values: the caller parses it and never logs or
 * traces it.
 */
export function lambdaBrokerCaller(client: LambdaClient, functionName: string, runKey: string): BrokerCaller {
  return {
    async call(request) {
      const payload = { ...request, runKey } as TokenBrokerRequest;
      const out = await client.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(payload)) }),
      );
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      if (out.FunctionError) {
        // The error payload names the refusal; it never carries a token, a secret value or the key.
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
    },
  };
}
