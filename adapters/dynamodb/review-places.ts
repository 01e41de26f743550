import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { controlItemKey } from './tables';
import { isConditionFailure } from './condition-failure';
import type { ReviewPlaces, ReviewPlacesPort } from '../../core/store/review-places-port';

export type { ReviewPlaces, ReviewPlacesPort };

/**
 * A requester's review places (`concurrency.maxOpenPrsPerRequester`): one control item
 * `review-places#<requester>` holding the run ids that took a place (a string set, absent when empty)
 * and a version every write bumps, so that two admissions deciding on the same reading cannot both
 * write (optimistic concurrency: the second one's conditional write fails and it decides again).
 * What a place means, and when it is free again, is decided in core/runs/review-backlog.ts.
 */

const Stored = z.object({ places: z.instanceof(Set).optional(), version: z.number().int().nonnegative().optional() });

export function createReviewPlaces(doc: DynamoDBDocumentClient, tableName: string): ReviewPlacesPort {
  const key = (requester: string) => ({ pk: controlItemKey.reviewPlaces(requester) });
  return {
    async read(requester) {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(requester), ConsistentRead: true }));
      const stored = Stored.parse(Item ?? {});
      return {
        places: [...(stored.places ?? new Set())].filter((p): p is string => typeof p === 'string').sort(),
        version: stored.version ?? 0,
      };
    },
    async write(requester, places, version) {
      const set = places.length > 0 ? 'SET places = :places' : 'REMOVE places';
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(requester),
            UpdateExpression: `${set} ADD version :one`,
            ConditionExpression: version === 0 ? 'attribute_not_exists(version)' : 'version = :v',
            ExpressionAttributeValues: {
              ':one': 1,
              ...(places.length > 0 ? { ':places': new Set(places) } : {}),
              ...(version === 0 ? {} : { ':v': version }),
            },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    },
    async release(requester, runId) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(requester),
          UpdateExpression: 'DELETE places :run ADD version :one',
          ExpressionAttributeValues: { ':run': new Set([runId]), ':one': 1 },
        }),
      );
    },
  };
}
