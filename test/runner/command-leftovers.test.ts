import { userInfo } from 'node:os';
import { runSandboxed } from '../../runner/isolation/sandbox';
import { buildToolEnvironment } from '../../runner/isolation/tool-environment';
import { resolveToolIdentity, type ToolIdentity } from '../../runner/isolation/tool-identity';
import { eventually } from '../support/eventually';
import { isRunning } from '../support/processes';

/**
 * A tool process that leaves its command's process group (setsid) is still killed when the command
 * ends. As root (CI) the commands run as a uid of their own, so no other test's processes share it.
 */
const isRoot = userInfo().uid === 0;
const ownUid = 50_000 + (process.pid % 10_000);

function identity(exclusive: boolean): ToolIdentity {
  return isRoot
    ? { kind: 'separate', user: `uid${ownUid}`, uid: ownUid, gid: ownUid, ...(exclusive ? { exclusive: true } : {}) }
    : resolveToolIdentity();
}

/** Shell: wait until `$!` leads its own session (field 6 of /proc/<pid>/stat is the session id). */
const untilOwnSession = 'until [ "$(cut -d" " -f6 /proc/$!/stat 2>/dev/null)" = "$!" ]; do :; done';

const run = (command: string, who: ToolIdentity) =>
  runSandboxed({ command, cwd: '/tmp', timeoutMs: 30_000 }, who, buildToolEnvironment({ home: '/tmp', user: who.user }));

describe('processes a tool command leaves behind', () => {
  const strays: number[] = [];
  afterAll(() => {
    for (const pid of strays) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });

  it('Given a command that runs `setsid sleep 1000 &`, When the command ends, Then the escaped process is gone', async () => {
    // Given a command that starts a process in a new session and exits
    // (it waits until the process really is in its own session, so the group kill alone cannot catch it)
    const result = await run(`setsid sleep 1000 & ${untilOwnSession}; echo "escaped=$!"`, identity(false));

    // Then the escaped process was killed with the command
    const pid = Number(/escaped=(\d+)/.exec(result.output)![1]);
    strays.push(pid);
    expect(result.exitCode).toBe(0);
    await eventually(() => (isRunning(pid) ? undefined : true), `process ${pid} to be killed`, 5_000);
  });

  it('Given a command that double forks into a new session, When the command ends, Then the process is gone too', async () => {
    const result = await run('( setsid sh -c "sleep 1000 & echo grandchild=\\$!" & ) ; sleep 0.2', identity(false));
    const pid = Number(/grandchild=(\d+)/.exec(result.output)![1]);
    strays.push(pid);
    await eventually(() => (isRunning(pid) ? undefined : true), `process ${pid} to be killed`, 5_000);
  });

  if (isRoot) {
    it('Given a tool user dedicated to the run, When a command leaves a process that cleared its environment, Then it is gone too', async () => {
      const result = await run(`env -i setsid sleep 1000 & ${untilOwnSession}; echo "escaped=$!"`, identity(true));
      const pid = Number(/escaped=(\d+)/.exec(result.output)![1]);
      strays.push(pid);
      await eventually(() => (isRunning(pid) ? undefined : true), `process ${pid} to be killed`, 5_000);
    });
  } else {
    it('Given a runner that is not root, When the tool identity is resolved, Then its own user is never treated as dedicated to the run', () => {
      expect(resolveToolIdentity(undefined, { exclusive: true })).toMatchObject({ kind: 'same' });
      expect('exclusive' in resolveToolIdentity(undefined, { exclusive: true })).toBe(false);
    });
  }
});
