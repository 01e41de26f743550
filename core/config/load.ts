import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { NightshiftConfig } from './schema';

/** A configuration that failed validation; `problems` names every bad field by its path. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly { path: string; message: string }[],
  ) {
    super(`Invalid Nightshift configuration in ${source}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A ConfigError by its shape, not its class: the bundled CLI loads `nightshift dev` through tsx
 * (bin/bundles.js), so the error it throws is another copy of the class and `instanceof` says no.
 */
export function isConfigError(error: unknown): error is ConfigError {
  if (error instanceof ConfigError) return true;
  if (!(error instanceof Error) || error.name !== 'ConfigError') return false;
  const { source, problems } = error as Error & Partial<ConfigError>;
  return typeof source === 'string' && Array.isArray(problems);
}

/** `repos.0.name`-style path of a zod issue; `(root)` for the whole document. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => String(p)).join('.');
}

export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: issuePath(i.path), message: i.message }));
}

/** Validates an already-parsed JSON value. */
export function parseConfig(value: unknown, source = 'nightshift.config.json'): NightshiftConfig {
  const parsed = NightshiftConfig.safeParse(value);
  if (!parsed.success) throw new ConfigError(source, describeIssues(parsed.error));
  return parsed.data;
}

/** Reads and validates the configuration file (`NIGHTSHIFT_CONFIG`, default `nightshift.config.json`). */
export function loadConfig(file = process.env.NIGHTSHIFT_CONFIG ?? 'nightshift.config.json'): NightshiftConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'the file does not exist: create it (the committed nightshift.config.json is an example; docs/configuration.md lists every field) or name another with NIGHTSHIFT_CONFIG'
        : `cannot read: ${(err as Error).message}`;
    throw new ConfigError(path, [{ path: '(file)', message }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [{ path: '(file)', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  return parseConfig(json, path);
}

/** The effective settings for one allowlisted repository, or undefined when it is not allowlisted. */
export function repoSettings(config: NightshiftConfig, repo: string) {
  const entry = config.repos.find((r) => r.name.toLowerCase() === repo.toLowerCase());
  if (!entry) return undefined;
  return {
    name: entry.name,
    setup: entry.setup ?? [],
    test: entry.test,
    budgetUsd: entry.budgetUsd ?? config.budgets.perRunUsd,
    maxMinutes: entry.maxMinutes ?? config.timeouts.maxMinutes,
    egressAllow: [...config.egress.allow, ...(entry.egressAllow ?? [])],
    secrets: entry.secrets ?? {},
    secretsInHeadTests: entry.secretsInHeadTests ?? false,
    setupCache: entry.setupCache ?? true,
    spot: entry.spot ?? false,
    /** Who alone may submit to this repo through the API; undefined: every caller (core/runs/access.ts). */
    requesters: entry.requesters,
  };
}
export type RepoSettings = NonNullable<ReturnType<typeof repoSettings>>;
