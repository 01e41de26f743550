import { tmpdir } from 'node:os';

/**
 * The environment tests run real git in: no system or global configuration (so nothing of the machine's
 * own git settings changes a result), HOME in the temporary folder, and `name <email>` as both author
 * and committer.
 */
export function gitEnvAs(name: string, email: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: email,
  };
}
