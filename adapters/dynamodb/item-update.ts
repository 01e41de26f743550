import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './condition-failure';

/** What differs between single-item writes: the expressions, their names and values. */
export interface ItemUpdate {
  /** The ConditionExpression; none for a write that always applies. */
  condition?: string;
  update: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  /** Answer the item as written (ReturnValues ALL_NEW). */
  returnItem?: boolean;
}

/** The UpdateItem command for `write` on the item at `key` of `table`; a part `write` leaves out is not sent. */
export function updateCommand(table: string, key: Record<string, string>, write: ItemUpdate): UpdateCommand {
  return new UpdateCommand({
    TableName: table,
    Key: key,
    ...(write.condition === undefined ? {} : { ConditionExpression: write.condition }),
    UpdateExpression: write.update,
    ...(write.names === undefined ? {} : { ExpressionAttributeNames: write.names }),
    ...(write.values === undefined ? {} : { ExpressionAttributeValues: write.values }),
    ...(write.returnItem === true ? { ReturnValues: 'ALL_NEW' as const } : {}),
  });
}

/** For `.catch` on a conditional write: its failed condition becomes `undefined`; every other fault is thrown on. */
export function unlessConditionFailed(error: unknown): undefined {
  if (!isConditionFailure(error)) throw error;
  return undefined;
}

/** Awaits a conditional write: `true` when it was written, `false` when its condition refused it; every other fault is thrown. */
export async function written(write: Promise<unknown>): Promise<boolean> {
  return write.then(
    () => true,
    (error: unknown) => unlessConditionFailed(error) ?? false,
  );
}
