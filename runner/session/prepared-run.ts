import type { ToolIdentity } from '../isolation/tool-identity';
import type { NightshiftYml } from '../repo/repo-settings-file';
import type { ProtectedPaths } from '../tools/protected-paths';
import type { WorkspaceLayout } from '../workspace';
import type { RepoAccess } from './repo-access';

/**
 * The shapes the workspace phase (runner/session/workspace-phase.ts) hands to every later phase: a
 * started run, its repository's rules and environments, and the workspace ready for the agent. Types
 * only, so a phase can name them without importing the phase that builds them.
 */

export interface RunProxy {
  url: string;
  portName: string;
  port: number;
}

/** A started run: its record is RUNNING, the proxy answered, the workspace exists for the tool user. */
export interface StartedRun {
  layout: WorkspaceLayout;
  identity: ToolIdentity;
  /** The run's port of the egress proxy, once the preflight passed; undefined without a proxy. */
  proxy: RunProxy | undefined;
  /** What every tool command runs with: no credentials, the proxy. */
  toolEnv: Record<string, string>;
}

/** What the repository and the config say about this run: `.nightshift.yml`, the test command, protected paths. */
export interface RepoRules {
  repoFile: NightshiftYml;
  testCommand: string | undefined;
  protectedPaths: ProtectedPaths;
}

/** The environments of the runner's own commands. */
export interface CommandEnvironments {
  /** The tool environment plus the repo's named secrets: setup commands and the base test run, never agent tools. */
  commandEnv: Record<string, string>;
  /** The head test run runs agent-written code: it gets the secrets only when the repo opts in (secretsInHeadTests). */
  headTestEnv: Record<string, string>;
}

/** A workspace ready for the agent: checked out on the run branch, set up, its rules read. */
export interface PreparedRun extends StartedRun, CommandEnvironments {
  repo: RepoAccess;
  rules: RepoRules;
}
