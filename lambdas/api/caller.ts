import type { AuthConfig } from '../../core/config/schema';
import type { Caller } from '../../core/runs/access';
import { oddUnicodeReason } from '../../core/runs/text';
import { requesterOf, type ApiEvent } from './http';

/**
 * A JWT claim listing groups, as it reaches the handler: API Gateway HTTP API's JWT authorizer passes
 * an array claim as one string `"[a b c]"`; other front ends pass a real array or a comma-separated
 * string. Anything else is no groups (never a guess that could grant more).
 */
export function groupsFromClaim(value: unknown): string[] {
  const valid = (g: string) => g.length > 0 && g.length <= 256 && !/\s/.test(g) && oddUnicodeReason(g) === undefined;
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && valid(g));
  if (typeof value !== 'string') return [];
  const text = value.trim();
  const bracketed = /^\[(.*)\]$/s.exec(text);
  const parts = bracketed ? bracketed[1]!.split(/\s+/) : text.split(',').map((g) => g.trim());
  return parts.filter(valid);
}

/** The caller as the platform's authorizer established it: its requester identity and, with JWT auth, its groups. */
export function callerOf(event: ApiEvent, auth: AuthConfig): Caller {
  const requester = requesterOf(event);
  if (auth.type !== 'jwt' || !requester.startsWith('jwt:')) return { requester, groups: [] };
  return { requester, groups: groupsFromClaim(event.requestContext.authorizer?.jwt?.claims?.[auth.groupsClaim]) };
}
