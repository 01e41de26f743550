import { toolProxyEnv } from '../../core/egress/proxy-env';

/**
 * The environment of every tool command, built from an allowlist: nothing of the runner's own
 * environment passes unless named here, so AWS credentials, container metadata endpoints, the task
 * token and GitHub tokens never reach model-written code.
 */
const passThrough = ['LANG', 'LC_ALL', 'TZ', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE'] as const;

export const DEFAULT_TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ToolEnvironmentInput {
  home: string;
  user: string;
  /** The runner's PATH: not secret, and a developer's node may live outside the default PATH. */
  path?: string;
  /** The egress proxy (NIGHTSHIFT_PROXY_URL); tools reach the internet only through it. */
  proxyUrl?: string;
  runnerEnv?: NodeJS.ProcessEnv;
}

/** Names that must never appear in a tool's environment, whatever the allowlist says (defence in depth). */
export function isForbiddenToolVariable(name: string): boolean {
  return (
    /^(AWS_|ECS_CONTAINER_METADATA_URI|TASK_TOKEN|GITHUB_TOKEN|GH_TOKEN|NIGHTSHIFT_CONFIG_JSON)/i.test(name) ||
    /TOKEN|SECRET|PASSWORD|CREDENTIAL/i.test(name)
  );
}

export function buildToolEnvironment(input: ToolEnvironmentInput): Record<string, string> {
  const runnerEnv = input.runnerEnv ?? process.env;
  const env: Record<string, string> = {
    PATH: input.path ?? runnerEnv.PATH ?? DEFAULT_TOOL_PATH,
    HOME: input.home,
    USER: input.user,
    LOGNAME: input.user,
    SHELL: '/bin/bash',
    TMPDIR: '/tmp',
    TERM: 'dumb',
    CI: 'true',
    NIGHTSHIFT: '1',
    GIT_TERMINAL_PROMPT: '0',
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
  };
  for (const name of passThrough) {
    const value = runnerEnv[name];
    if (value) env[name] = value;
  }
  if (input.proxyUrl) Object.assign(env, toolProxyEnv(input.proxyUrl));
  for (const name of Object.keys(env)) if (isForbiddenToolVariable(name)) delete env[name];
  return env;
}
