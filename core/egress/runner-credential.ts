import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';

/**
 * The runner's proxy credential. The egress proxy opens the AWS API hosts the runner calls (Bedrock
 * runtime, Step Functions, Lambda, STS: `awsProxiedHosts`) only to requests that authenticate as
 * `nightshift-runner` with this password (squid basic auth, proxy/runner-auth.sh), so the agent's tools,
 * which share the proxy for GitHub and package registries, cannot use those hosts. The runner holds the
 * password in its own process only (NIGHTSHIFT_PROXY_PASSWORD is removed from its environment at
 * start, and never reaches a tool's); squid is given only its SHA-256.
 */
export const RUNNER_PROXY_USER = 'nightshift-runner';

/** What proxy/runner-auth.sh accepts: URL-safe, so squid's URL escaping of it is the identity. */
export const RunnerProxyPassword = z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, 'must be 32-128 letters, digits, "_" or "-"');

export function newRunnerProxyPassword(): string {
  return randomBytes(32).toString('base64url');
}

/** The line proxy/runner-auth.sh compares against (hex SHA-256 of the password). */
export function runnerProxyPasswordHash(password: string): string {
  return createHash('sha256').update(RunnerProxyPassword.parse(password), 'utf8').digest('hex');
}

/** The proxy URL with the runner's credential, for the runner's own AWS clients only. */
export function withRunnerCredential(proxyUrl: string, password: string): string {
  const url = new URL(proxyUrl);
  url.username = RUNNER_PROXY_USER;
  url.password = RunnerProxyPassword.parse(password);
  return url.toString().replace(/\/$/, '');
}
