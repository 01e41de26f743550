import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { AttemptState, attemptRefusal, emptyAttempts } from '../../core/github/ci-autofix';
import { ThreadName } from '../../core/store/thread-store-port';
import type { AutofixAttemptsPort, ClaimResult } from '../../core/store/autofix-attempts-port';

export type { AutofixAttemptsPort, ClaimResult };
import { isConditionFailure } from './condition-failure';

/**
 * CI auto-fix attempts of one pull request: one control item `autofix#<owner/name>#<N>` (lower case).
 *   total            fix runs CI failures started on the pull request
 *   c:<sha>          of them, for that head commit
 *   s:<checkSuiteId> the check suites counted (their head commit): the same suite told twice (as its
 *                    check_suite and its workflow_run event, or redelivered) is one attempt
 *   enabled          `/nightshift autofix off|on` (absent: the config's default)
 *   n:<key>          notices posted once (a cap reached, a pre-existing failure on a commit)
 * An attempt is ONE conditional update: the suite not counted yet and both counts under their caps,
 * so two deliveries at once cannot both pass.
 */
export const autofixItemKey = (thread: string) => `autofix#${thread.toLowerCase()}`;

const Sha = z.string().regex(/^[0-9a-f]{40}$/);
const SuiteId = z.number().int().positive();
const Stored = z.record(z.string(), z.unknown());

/** The stored item as the pure rules read it. */
export function attemptStateOf(item: Record<string, unknown> | undefined): AttemptState {
  if (!item) return emptyAttempts;
  const commits: Record<string, number> = {};
  const suites: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith('c:') && typeof value === 'number') commits[name.slice(2)] = value;
    else if (name.startsWith('s:') && typeof value === 'string') suites[name.slice(2)] = value;
  }
  return AttemptState.parse({
    total: typeof item.total === 'number' ? item.total : 0,
    commits,
    suites,
    enabled: typeof item.enabled === 'boolean' ? item.enabled : null,
  });
}

export function createAutofixAttempts(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: () => Date = () => new Date(),
): AutofixAttemptsPort {
  const key = (thread: string) => ({ pk: autofixItemKey(ThreadName.parse(thread)) });
  async function get(thread: string): Promise<AttemptState> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(thread), ConsistentRead: true }));
    return attemptStateOf(Item ? Stored.parse(Item) : undefined);
  }
  return {
    get,
    async claim(thread, checkSuiteId, sha, caps) {
      const suite = `s:${SuiteId.parse(checkSuiteId)}`;
      const commit = `c:${Sha.parse(sha)}`;
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(thread),
            UpdateExpression:
              'SET #total = if_not_exists(#total, :zero) + :one, #commit = if_not_exists(#commit, :zero) + :one, #suite = :sha, updatedAt = :now',
            ConditionExpression:
              'attribute_not_exists(#suite) AND (attribute_not_exists(#total) OR #total < :perPullRequest) AND (attribute_not_exists(#commit) OR #commit < :perCommit)',
            ExpressionAttributeNames: { '#total': 'total', '#commit': commit, '#suite': suite },
            ExpressionAttributeValues: {
              ':zero': 0,
              ':one': 1,
              ':sha': sha,
              ':now': now().toISOString(),
              ':perPullRequest': caps.perPullRequest,
              ':perCommit': caps.perCommit,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const state = attemptStateOf(Attributes);
        return { kind: 'claimed', commit: state.commits[sha] ?? 1, pullRequest: state.total };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
      // The write decided; the read only says why (a state that allows it now means a release raced: say duplicate).
      return { kind: 'refused', refusal: attemptRefusal(await get(thread), checkSuiteId, sha, caps) ?? 'duplicate' };
    },
    async release(thread, checkSuiteId, sha) {
      await doc
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(thread),
            UpdateExpression: 'SET #total = #total - :one, #commit = #commit - :one REMOVE #suite',
            ConditionExpression: 'attribute_exists(#suite) AND #total > :zero AND #commit > :zero',
            ExpressionAttributeNames: { '#total': 'total', '#commit': `c:${Sha.parse(sha)}`, '#suite': `s:${SuiteId.parse(checkSuiteId)}` },
            ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
          }),
        )
        .catch((err: unknown) => {
          if (!isConditionFailure(err)) throw err;
        });
    },
    async setEnabled(thread, enabled) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(thread),
          UpdateExpression: 'SET enabled = :enabled, updatedAt = :now',
          ExpressionAttributeValues: { ':enabled': enabled, ':now': now().toISOString() },
        }),
      );
    },
    async claimNotice(thread, noticeKey) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(thread),
            UpdateExpression: 'SET #notice = :now',
            ConditionExpression: 'attribute_not_exists(#notice)',
            ExpressionAttributeNames: { '#notice': `n:${z.string().min(1).max(100).parse(noticeKey)}` },
            ExpressionAttributeValues: { ':now': now().toISOString() },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    },
  };
}
