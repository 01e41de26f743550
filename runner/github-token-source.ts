import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { TokenBrokerResponse } from '../lambdas/token-broker-contract';

export type GithubToken = z.infer<typeof TokenBrokerResponse>;

/** Where the runner gets its GitHub token for this run. */
export interface GithubTokenSource {
  tokenFor(runId: string): Promise<GithubToken>;
}

export class TokenBrokerRefusedError extends Error {
  constructor(reason: string) {
    super(`the token broker refused: ${reason}`);
    this.name = 'TokenBrokerRefusedError';
  }
}

/** The token broker Lambda (only the runner task role may invoke it). */
export function tokenBrokerSource(client: LambdaClient, functionName: string): GithubTokenSource {
  return {
    async tokenFor(runId) {
      const out = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify({ runId })) }));
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      if (out.FunctionError) {
        // The error payload names the refusal; it never carries a token.
        let message = out.FunctionError;
        try {
          const parsed = JSON.parse(text) as { errorMessage?: string };
          if (parsed.errorMessage) message = parsed.errorMessage;
        } catch {
          /* keep the FunctionError name */
        }
        throw new TokenBrokerRefusedError(message.slice(0, 300));
      }
      const parsed = TokenBrokerResponse.safeParse(JSON.parse(text));
      if (!parsed.success) throw new TokenBrokerRefusedError('malformed broker response');
      return parsed.data;
    },
  };
}
