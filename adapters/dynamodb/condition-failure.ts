import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/**
 * Whether a DynamoDB write was refused by its condition: the expected outcome of a lost race or a
 * guard, which a store turns into its own answer. Every other error is a fault and is thrown on.
 */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}
