import { existsSync, readdirSync } from 'node:fs';
import { HttpError, type ForgeAnswer } from './forge-http';
import type { ForgeSite } from './forge-json';
import { bareRepoPath } from './forge-repositories';
import { AccessTokenRequest } from './forge-schemas';
import { issueForgeToken } from './forge-tokens';

/**
 * GitHub App token exchange on the local forge (`POST /app/installations/{id}/access_tokens`, for the
 * broker's app mode): a forge token for the one repository asked for, by its short name.
 */
export function tokenExchange(site: ForgeSite) {
  const { root } = site;
  /** The owner of the one repository with that short name (token exchange names repositories without owner). */
  const existingOwnerOf = (name: string): string => {
    const owners = existsSync(root)
      ? readdirSync(root).filter((o) => !o.startsWith('.') && existsSync(bareRepoPath(root, `${o}/${name}`)))
      : [];
    if (owners.length !== 1) throw new HttpError(422, `repository ${name} is not unique in the forge`);
    return owners[0]!;
  };

  return (method: string, parts: string[], body: unknown, token: string | undefined): ForgeAnswer | undefined => {
    if (parts[0] !== 'app' || parts[1] !== 'installations' || parts[3] !== 'access_tokens' || method !== 'POST') return undefined;
    if (!token) throw new HttpError(401, 'A JSON web token could not be decoded');
    if (Number(parts[2]) !== site.installationId) throw new HttpError(404, 'Not Found');
    const input = AccessTokenRequest.parse(body ?? {});
    const names = input.repositories ?? [];
    if (names.length !== 1) throw new HttpError(422, 'the local forge issues tokens for exactly one repository');
    const owner = existingOwnerOf(names[0]!);
    const { token: issued, expiresAt } = issueForgeToken(root, `${owner}/${names[0]}`, null);
    return {
      status: 201,
      json: {
        token: issued,
        expires_at: expiresAt,
        permissions: input.permissions ?? {},
        repository_selection: 'selected',
        repositories: [{ name: names[0], full_name: `${owner}/${names[0]}` }],
      },
    };
  };
}
