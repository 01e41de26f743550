import type { z } from 'zod';
import { InvalidCursorError } from '../../core/errors';

const maxCursorLength = 2_048;

/** An opaque page cursor: base64url JSON. Opaque to callers, not secret: it is validated on the way back. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a cursor this store issued, or throws `InvalidCursorError` for anything else. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  if (cursor.length === 0 || cursor.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new InvalidCursorError();
  return parsed.data;
}
