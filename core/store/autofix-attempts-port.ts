import type { AutofixConfig } from '../config/schema';
import type { AttemptRefusal, AttemptState } from '../github/ci-autofix';

/** CI auto-fix attempts of one pull request: the port the domain calls; adapters/dynamodb/autofix-attempts.ts implements it. */
export type ClaimResult = { kind: 'claimed'; commit: number; pullRequest: number } | { kind: 'refused'; refusal: AttemptRefusal };

export interface AutofixAttemptsPort {
  get(thread: string): Promise<AttemptState>;
  /** Counts an attempt for the check suite on `sha`, within the caps. */
  claim(thread: string, checkSuiteId: number, sha: string, caps: AutofixConfig['maxAttempts']): Promise<ClaimResult>;
  /** Gives a counted attempt back (its run could not be submitted for a fault of ours, so a redelivery may try again). */
  release(thread: string, checkSuiteId: number, sha: string): Promise<void>;
  /** `/nightshift autofix on|off`. */
  setEnabled(thread: string, enabled: boolean): Promise<void>;
  /** True the first time only, per key: a notice posted once. */
  claimNotice(thread: string, key: string): Promise<boolean>;
}
