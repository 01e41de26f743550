import { lchownSync } from 'node:fs';
import type { ToolIdentity } from '../isolation/tool-identity';
import { truncateForModel } from './model-output';
import type { ProtectedPaths } from './protected-paths';

export interface ToolContext {
  repoRoot: string;
  protectedPaths: ProtectedPaths;
  identity: ToolIdentity;
  env: Record<string, string>;
  /** SIGTERM of the runner: kills a running command. */
  signal: AbortSignal;
  defaultTimeoutSeconds?: number;
  /**
   * Where `shell` saves the whole output of a command too long to show (a runner-owned directory
   * outside the checkout that the tool user can read but not change).
   */
  outputDir: string;
  /** The git view of the checkout: every file tracked or untracked and not ignored, relative, forward slashes. */
  gitFiles: () => Promise<string[]>;
}

export type ToolControl = { kind: 'finish'; summary: string; risks: string | null } | { kind: 'ask_human'; question: string };

export interface ToolOutcome {
  /** What the model sees (already truncated). */
  text: string;
  isError: boolean;
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  control?: ToolControl;
}

/** A tool call the runner refuses or cannot carry out; the message is what the model is told. */
export class ToolRefusal extends Error {}

export function ok(text: string, started: number, extra: Partial<ToolOutcome> = {}): ToolOutcome {
  return {
    text: truncateForModel(text),
    isError: false,
    exitCode: null,
    timedOut: false,
    aborted: false,
    durationMs: Date.now() - started,
    ...extra,
  };
}

export function refused(text: string, started: number): ToolOutcome {
  return { text, isError: true, exitCode: null, timedOut: false, aborted: false, durationMs: Date.now() - started };
}

/** Files the runner writes for the model belong to the tool user, so later commands can change them. */
export function giveToTools(path: string, identity: ToolIdentity): void {
  if (identity.kind === 'separate') lchownSync(path, identity.uid, identity.gid);
}
