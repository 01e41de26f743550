import { RepoSecretsResponse } from '../../lambdas/token-broker-contract';
import type { BrokerCaller } from '../token-broker-client';

/**
 * A repo's named secrets (config `repos[].secrets`: ENV_NAME → Secrets Manager secret name). The
 * runner asks the token broker for them after the clone: the broker checks the run key and that the
 * run is RUNNING, and answers with that run's repository's secrets only (the runner's role cannot read Secrets Manager,
 * so a run of one repository never reads another's). Local mode's broker reads NIGHTSHIFT_SECRETS_FILE.
 * They are offered to the setup commands and the base test run (the head test run only when the repo
 * opts in), never to the agent's tool calls; every value is registered with the redactor first.
 */
export type RepoSecretSource = (runId: string) => Promise<RepoSecretsResponse>;

export function tokenBrokerSecretSource(broker: BrokerCaller): RepoSecretSource {
  return async (runId) => {
    const parsed = RepoSecretsResponse.safeParse(await broker.call({ kind: 'repoSecrets', runId }));
    // Never the payload in the message: it holds the values.
    if (!parsed.success) throw new Error('malformed repo secrets response from the token broker');
    return parsed.data;
  };
}

export class RepoSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepoSecretError';
  }
}

/**
 * Reads the run's named secrets, or throws naming the variable or the refusal (never a value). A name
 * that the tool environment already sets (PATH, HOME, the proxy variables, ...) is refused before
 * anything is asked: a secret must not silently change how setup and tests run. The answer must hold
 * exactly the configured variables of the run's repository.
 */
export async function readRepoSecrets(
  expected: { repository: string; variables: string[] },
  runId: string,
  source: RepoSecretSource,
  reserved: Iterable<string>,
): Promise<Record<string, string>> {
  const taken = new Set([...reserved].map((n) => n.toUpperCase()));
  for (const variable of expected.variables) {
    if (taken.has(variable.toUpperCase()))
      throw new RepoSecretError(`secret variable ${variable} would override the tool environment's ${variable}`);
  }
  let answer: RepoSecretsResponse;
  try {
    answer = await source(runId);
  } catch (err) {
    throw new RepoSecretError((err as Error).message);
  }
  const got = Object.keys(answer.secrets).sort();
  if (answer.repository !== expected.repository || got.join('\n') !== [...expected.variables].sort().join('\n')) {
    throw new RepoSecretError(
      `the token broker answered with ${got.join(', ') || 'no variables'} of ${answer.repository}, expected ${expected.variables.join(', ')} of ${expected.repository}`,
    );
  }
  return answer.secrets;
}
