import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './condition-failure';
import { idempotencyKeys } from './tables';

/**
 * Idempotency-Key records in the idempotency table, beside the webhook's delivery markers. The layout is
 * the one Powertools Idempotency wrote before this store replaced it (`status`, `expiration` in epoch
 * seconds, the table's TTL attribute, `in_progress_expiration` in epoch milliseconds, `data`,
 * `validation`), so records written before the switch still answer. An expired record counts as absent
 * even before DynamoDB's TTL sweep removes it (dynalite has no TTL at all); so does an in-progress
 * record whose holder's deadline passed (a submission that crashed mid-way).
 */
export type IdempotencyClaim =
  /** The caller holds the key in progress: it does the work, then completes or releases it. */
  | { outcome: 'claimed' }
  /** The work was done under this key for the same payload: its stored response. */
  | { outcome: 'completed'; response: unknown }
  /** Another call holds the key in progress. */
  | { outcome: 'in_progress' }
  /** The key was used with another payload (in progress or completed). */
  | { outcome: 'payload_mismatch' };

export interface IdempotencyRecordsPort {
  /**
   * Claims `id` for a payload (by its digest) until `inProgressForMs` from now, with one conditional
   * PutItem; if another record holds it, says what that record answers.
   */
  claim(id: string, payloadHash: string, inProgressForMs: number): Promise<IdempotencyClaim>;
  /** Stores the response of the work done under a claim; the record lives `ttlSeconds` from now. */
  complete(id: string, payloadHash: string, response: Record<string, unknown>): Promise<void>;
  /** Gives a claim back (the work failed), so that the key can be used again. */
  release(id: string): Promise<void>;
}

const STATUS = { inProgress: 'INPROGRESS', completed: 'COMPLETED' } as const;

/** A record that expires between the refused put and the read, or is released meanwhile, is claimed again: at most this often. */
const CLAIM_ATTEMPTS = 3;

export class IdempotencyRecordChangingError extends Error {
  constructor(id: string) {
    super(`the idempotency record ${id} kept changing while it was claimed`);
    this.name = 'IdempotencyRecordChangingError';
  }
}

export function createIdempotencyRecords(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: { ttlSeconds: number; now?: () => number },
): IdempotencyRecordsPort {
  const now = options.now ?? Date.now;
  const key = (id: string) => ({ [idempotencyKeys.partitionKey]: id });
  const expiresAt = (nowMs: number) => Math.round(nowMs / 1000 + options.ttlSeconds);

  async function put(id: string, payloadHash: string, inProgressForMs: number): Promise<boolean> {
    const nowMs = now();
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...key(id),
            expiration: expiresAt(nowMs),
            status: STATUS.inProgress,
            in_progress_expiration: nowMs + inProgressForMs,
            validation: payloadHash,
          },
          ConditionExpression:
            'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inProgress AND attribute_exists(#inProgressExpiry) AND #inProgressExpiry < :nowMs)',
          ExpressionAttributeNames: {
            '#id': idempotencyKeys.partitionKey,
            '#expiry': idempotencyKeys.ttlAttribute,
            '#status': 'status',
            '#inProgressExpiry': 'in_progress_expiration',
          },
          ExpressionAttributeValues: { ':now': nowMs / 1000, ':nowMs': nowMs, ':inProgress': STATUS.inProgress },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  return {
    async claim(id, payloadHash, inProgressForMs) {
      for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        if (await put(id, payloadHash, inProgressForMs)) return { outcome: 'claimed' };
        // The same read whether the refused put could return the record or not (dynalite cannot).
        const { Item: held } = await doc.send(new GetCommand({ TableName: tableName, Key: key(id), ConsistentRead: true }));
        if (!held) continue;
        if (held.validation !== payloadHash) return { outcome: 'payload_mismatch' };
        const nowMs = now();
        if (typeof held.expiration === 'number' && held.expiration < nowMs / 1000) continue;
        if (held.status === STATUS.completed) return { outcome: 'completed', response: held.data };
        if (held.status !== STATUS.inProgress) throw new Error(`the idempotency record ${id} has an unknown status`);
        if (typeof held.in_progress_expiration === 'number' && held.in_progress_expiration < nowMs) continue;
        return { outcome: 'in_progress' };
      }
      throw new IdempotencyRecordChangingError(id);
    },
    async complete(id, payloadHash, response) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(id),
          UpdateExpression: 'SET #expiry = :expiry, #status = :status, #data = :data, #validation = :validation',
          ExpressionAttributeNames: {
            '#expiry': idempotencyKeys.ttlAttribute,
            '#status': 'status',
            '#data': 'data',
            '#validation': 'validation',
          },
          ExpressionAttributeValues: {
            ':expiry': expiresAt(now()),
            ':status': STATUS.completed,
            ':data': response,
            ':validation': payloadHash,
          },
        }),
      );
    },
    async release(id) {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: key(id) }));
    },
  };
}
