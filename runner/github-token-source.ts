import type { z } from 'zod';
import { TokenBrokerResponse } from '../lambdas/token-broker-contract';
import { TokenBrokerRefusedError, type BrokerCaller } from './token-broker-client';

export { TokenBrokerRefusedError } from './token-broker-client';

export type GithubToken = z.infer<typeof TokenBrokerResponse>;

/** Where the runner gets its GitHub token for this run. */
export interface GithubTokenSource {
  tokenFor(runId: string): Promise<GithubToken>;
}

/** The token broker Lambda (only the runner task role may invoke it; the run key says which run's runner asks). */
export function tokenBrokerSource(broker: BrokerCaller): GithubTokenSource {
  return {
    async tokenFor(runId) {
      const parsed = TokenBrokerResponse.safeParse(await broker.call({ kind: 'githubToken', runId }));
      if (!parsed.success) throw new TokenBrokerRefusedError('malformed broker response');
      return parsed.data;
    },
  };
}
