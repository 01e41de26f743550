import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../core/config/load';
import { COMMAND_MARKER_VARIABLE } from '../../runner/isolation/sandbox';
import { egressLayout, findSquid, startEgressProxy } from '../../local/egress-proxy';
import { assertHomeIsPrivate, ensureHome, resolveHome, secureSecretsFile, UnsafeHomeError } from '../../local/home';
import { jsonLog } from '../../local/local-log';
import { synthesizedTemplate } from '../../local/synthesized-stack';
import { isToolLeftover, reapToolLeftovers } from '../../local/tool-leftovers';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';
import { isRunning } from '../support/processes';

/**
 * docs/local-mode.md#isolation-honestly: when local mode runs as root its agent's tools run as another user, and no
 * directory that user can write is one where the platform writes, reads or follows its own files.
 * Each test is written against the class of attack: every kind of file a tool could plant (symlink,
 * hard link, FIFO, a replaced directory), every file the platform keeps.
 */

const log = jsonLog(() => undefined);
const toolId = spawnSync('id', ['-u', 'nightshift-tool'], { encoding: 'utf8' });
const tool =
  toolId.status === 0
    ? { uid: Number(toolId.stdout.trim()), gid: Number(spawnSync('id', ['-g', 'nightshift-tool'], { encoding: 'utf8' }).stdout.trim()) }
    : undefined;
const asRoot = process.getuid?.() === 0 && tool !== undefined;
if (!asRoot)
  console.warn(
    '\n*** SKIPPING the tool-user halves of test/local/home-isolation.test.ts: they need root and a nightshift-tool user (CI has both). ***\n',
  );

/** Runs a shell command as the tool user; its exit status. */
function asTool(command: string): number | null {
  return spawnSync('/bin/sh', ['-c', command], {
    uid: tool!.uid,
    gid: tool!.gid,
    env: { PATH: '/usr/bin:/bin' },
    stdio: 'ignore',
    cwd: '/',
  }).status;
}

function freshHome() {
  const home = resolveHome(mkdtempSync(join(tmpdir(), 'ns-isolation-')));
  ensureHome(home);
  return home;
}

describe('secrets.json', () => {
  const loosened: [string, number][] = [
    ['0644', 0o644],
    ['0666', 0o666],
    ['0604', 0o604],
    ['0640', 0o640],
    ['0755', 0o755],
  ];

  it.each(loosened)(
    'Given a secrets file a person created with mode %s, When the platform starts, Then it is 0600 with its content kept',
    (_label, mode) => {
      // Given a secrets file created readable by others
      const home = freshHome();
      writeFileSync(home.secretsFile, '{"NPM_TOKEN":"s3cret"}\n');
      chmodSync(home.secretsFile, mode);
      // When the platform starts
      secureSecretsFile(home.secretsFile);
      // Then it is 0600 and its content kept
      expect(statSync(home.secretsFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(home.secretsFile, 'utf8')).toContain('s3cret');
    },
  );

  (asRoot ? it.each(loosened) : it.skip.each(loosened))(
    'Given a secrets file a person created with mode %s, When the platform starts, Then the tool user cannot read it (needs root and a nightshift-tool user)',
    (_label, mode) => {
      // Given a secrets file created with a loose mode (the tool user can read those readable by others)
      const home = freshHome();
      writeFileSync(home.secretsFile, '{"NPM_TOKEN":"s3cret"}\n');
      chmodSync(home.secretsFile, mode);
      if ((mode & 0o004) !== 0) expect(asTool(`cat ${home.secretsFile}`)).toBe(0);
      // When the platform starts
      secureSecretsFile(home.secretsFile);
      // Then the tool user cannot read it
      expect(asTool(`cat ${home.secretsFile}`)).not.toBe(0);
    },
  );

  it('Given no secrets file, When the platform starts, Then it is created 0600 and empty', () => {
    const home = freshHome();
    secureSecretsFile(home.secretsFile);
    expect(statSync(home.secretsFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(home.secretsFile, 'utf8'))).toEqual({});
  });

  it.each([
    ['a symlink', (path: string, victim: string) => symlinkSync(victim, path)],
    ['a dangling symlink', (path: string, victim: string) => symlinkSync(`${victim}.absent`, path)],
    ['a hard link', (path: string, victim: string) => linkSync(victim, path)],
    ['a FIFO', (path: string) => spawnSync('mkfifo', [path])],
    ['a directory', (path: string) => mkdirSync(path)],
  ])('Given a secrets file that is %s, When it is secured, Then it is refused and nothing it names is changed', (_what, plant) => {
    const home = freshHome();
    const victim = join(home.root, 'victim.txt');
    writeFileSync(victim, 'victim');
    chmodSync(victim, 0o644);
    plant(home.secretsFile, victim);
    expect(() => secureSecretsFile(home.secretsFile)).toThrow(UnsafeHomeError);
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(readFileSync(victim, 'utf8')).toBe('victim');
  });
});

describe('NIGHTSHIFT_HOME', () => {
  it('Given a home another user could replace, or under a directory they could, When it is checked, Then it is refused; under a sticky directory such as /tmp, Then it is not', () => {
    // A world-writable, non-sticky parent: anyone could rename the home away and put their own in its place
    const parent = mkdtempSync(join(tmpdir(), 'ns-open-parent-'));
    chmodSync(parent, 0o777);
    const home = resolveHome(join(parent, 'home'));
    ensureHome(home);
    expect(() => assertHomeIsPrivate(home)).toThrow(/writable by other users/);
    chmodSync(parent, 0o755);
    expect(() => assertHomeIsPrivate(home)).not.toThrow();
    // Under a sticky directory such as /tmp it is fine
    expect(() => assertHomeIsPrivate(freshHome())).not.toThrow();
  });
});

describe('the template cache', () => {
  it('Given a template cache someone else could write, or a link, When the template is read from it, Then it is refused: the template names the handler modules the platform loads', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ns-cache-'));
    chmodSync(cacheDir, 0o777);
    await expect(
      synthesizedTemplate({ repoRoot: join(__dirname, '../..'), config: parseConfig(localFixture()), cacheDir, log }),
    ).rejects.toThrow(/no one else can write/);
    const linked = join(mkdtempSync(join(tmpdir(), 'ns-cache-')), 'link');
    symlinkSync(cacheDir, linked);
    await expect(
      synthesizedTemplate({ repoRoot: join(__dirname, '../..'), config: parseConfig(localFixture()), cacheDir: linked, log }),
    ).rejects.toThrow(/must be a directory/);
  });
});

const squid = findSquid();
const squidIt = squid ? it : it.skip;
if (!squid)
  console.warn(
    '\n*** SKIPPING the egress directory tests of test/local/home-isolation.test.ts: squid is not installed (CI installs it). ***\n',
  );

describe('the egress proxy directory', () => {
  const config = parseConfig(localFixture());
  jest.setTimeout(60_000);

  squidIt(
    'ignores whatever an earlier layout left in it: a symlinked squid.conf, hard-linked logs, FIFOs, a run directory swapped for a link',
    async () => {
      // Given the 0777 egress directory of the earlier layout, with a tool's plants
      const home = freshHome();
      const dir = join(home.root, 'egress');
      mkdirSync(dir, { mode: 0o777 });
      chmodSync(dir, 0o777);
      const victims = join(home.root, 'victims');
      mkdirSync(victims);
      const victimFile = join(victims, 'passwd');
      writeFileSync(victimFile, 'root:x:0:0\n');
      const victimDir = join(victims, 'etc');
      mkdirSync(victimDir, { mode: 0o755 });
      symlinkSync(victimFile, join(dir, 'squid.conf'));
      linkSync(victimFile, join(dir, 'access.log'));
      spawnSync('mkfifo', [join(dir, 'squid.pid')]);
      spawnSync('mkfifo', [join(dir, 'cache.log')]);
      symlinkSync(victimDir, join(dir, 'run'));
      const victimDirBefore = lstatSync(victimDir);

      // When the platform starts its proxy
      const proxy = await startEgressProxy({ config, dir, log, ...(tool ? { toolUid: tool.uid } : {}) });
      try {
        // Then no victim was written, followed or handed over
        expect(readFileSync(victimFile, 'utf8')).toBe('root:x:0:0\n');
        expect(lstatSync(victimDir)).toMatchObject({ uid: victimDirBefore.uid, gid: victimDirBefore.gid, mode: victimDirBefore.mode });
        expect(readdirSync(victimDir)).toEqual([]);
        // And the layout is new: real directories and files, none of the plants
        const layout = egressLayout(dir);
        expect(lstatSync(layout.conf).isFile()).toBe(true);
        expect(lstatSync(layout.runDir).isDirectory()).toBe(true);
        expect(readdirSync(dir).sort()).toEqual(['run', 'runner-auth.sh', 'runner-credential.sha256', 'squid.conf']);
        expect(proxy?.accessLog).toBe(layout.accessLog);
      } finally {
        await proxy?.stop();
      }
    },
  );

  squidIt('replaces an egress directory that is itself a symlink, without touching its target', async () => {
    const home = freshHome();
    const target = join(home.root, 'elsewhere');
    mkdirSync(target, { mode: 0o755 });
    writeFileSync(join(target, 'keep'), 'keep');
    const dir = join(home.root, 'egress');
    symlinkSync(target, dir);
    const proxy = await startEgressProxy({ config, dir, log, ...(tool ? { toolUid: tool.uid } : {}) });
    try {
      expect(lstatSync(dir).isDirectory()).toBe(true);
      expect(readdirSync(target)).toEqual(['keep']);
      expect(statSync(target).mode & 0o777).toBe(0o755);
    } finally {
      await proxy?.stop();
    }
  });

  (squid && asRoot ? it : it.skip)(
    "Given the 0777 egress directory of the earlier layout with a tool user's plants, When the platform starts its proxy, Then no plant is followed or kept, and the tool user can plant, replace, read or forge nothing in the new layout",
    async () => {
      const home = freshHome();
      const dir = join(home.root, 'egress');
      const proxy = await startEgressProxy({ config, dir, log, toolUid: tool!.uid });
      try {
        const layout = egressLayout(dir);
        // squid does not run as the tool user, and the tool user owns nothing here
        for (const path of [layout.dir, layout.conf, layout.runDir]) expect(lstatSync(path).uid).not.toBe(tool!.uid);
        const attempts: Record<string, string> = {
          'symlink in egress/': `ln -s /etc/passwd ${dir}/x`,
          'symlink in egress/run/': `ln -s /etc/passwd ${layout.runDir}/x`,
          'hard link in egress/run/': `ln /etc/passwd ${layout.runDir}/x`,
          'FIFO in egress/': `mkfifo ${dir}/x`,
          'FIFO in egress/run/': `mkfifo ${layout.runDir}/x`,
          'replace squid.conf': `mv ${dir} ${home.root}/egress.old || rm -f ${layout.conf}`,
          'replace the egress directory': `mv ${dir} ${home.root}/moved`,
          'replace the run directory': `mv ${layout.runDir} ${dir}/old`,
          'write squid.conf': `echo x >> ${layout.conf}`,
          'read squid.conf': `cat ${layout.conf}`,
          'forge the access log': `echo forged >> ${layout.accessLog}`,
          'read the access log': `cat ${layout.accessLog}`,
          'write the pid file': `echo 1 > ${layout.pidFile}`,
          'write in NIGHTSHIFT_HOME': `touch ${home.root}/x`,
        };
        const succeeded = Object.entries(attempts)
          .filter(([, command]) => asTool(command) === 0)
          .map(([what]) => what);
        expect(succeeded).toEqual([]);
      } finally {
        await proxy?.stop();
      }
    },
  );
});

describe('tool processes left by a crashed platform', () => {
  jest.setTimeout(30_000);

  /** A tool command as the sandbox starts one (own group and session, marker, HOME in the run's workspace), leaving children behind. */
  function leaveToolCommand(workDir: string, pidsFile: string) {
    const home = join(workDir, '01J00000000000000000000000', 'home');
    mkdirSync(home, { recursive: true });
    chmodSync(join(workDir), 0o711);
    chmodSync(join(workDir, '01J00000000000000000000000'), 0o711);
    chmodSync(home, 0o777);
    // A child in the group, one that left the group and session (setsid), one that cleared its environment (env -i)
    const script = `sleep 1000 & echo $! >> ${pidsFile}; setsid sleep 1000 & echo $! >> ${pidsFile}; env -i sleep 1000 & echo $! >> ${pidsFile}; cd /; exec sleep 1000`;
    const child = spawn('/bin/bash', ['-c', script], {
      detached: true,
      stdio: 'ignore',
      cwd: home,
      env: { PATH: '/usr/bin:/bin', HOME: home, [COMMAND_MARKER_VARIABLE]: 'abc123' },
      ...(asRoot ? { uid: tool!.uid, gid: tool!.gid } : {}),
    });
    child.unref();
    return child.pid!;
  }

  it('Given processes, When leftovers of a crashed platform are looked for, Then they are recognised by the tool uid, the command marker and a HOME or working directory in this platform only', () => {
    const scope = { workDir: '/h/work', toolUid: 999 };
    const base = { pid: 10, uid: 999, pgid: 10, cwd: '/', environ: [`${COMMAND_MARKER_VARIABLE}=x`, 'HOME=/h/work/R/home'] };
    expect(isToolLeftover(base, scope)).toBe(true);
    expect(isToolLeftover({ ...base, environ: [`${COMMAND_MARKER_VARIABLE}=x`, 'HOME=/'], cwd: '/h/work/R/repo' }, scope)).toBe(true);
    expect(isToolLeftover({ ...base, uid: 0 }, scope)).toBe(false);
    expect(isToolLeftover({ ...base, environ: ['HOME=/h/work/R/home'] }, scope)).toBe(false);
    // Another platform's tools (another home), and a look-alike prefix
    expect(isToolLeftover({ ...base, environ: [`${COMMAND_MARKER_VARIABLE}=x`, 'HOME=/other/work/R/home'] }, scope)).toBe(false);
    expect(isToolLeftover({ ...base, environ: [`${COMMAND_MARKER_VARIABLE}=x`, 'HOME=/h/work2/R/home'] }, scope)).toBe(false);
  });

  it("Given a tool command of this platform that left children and one of another platform, When the platform starts again, Then its own are killed with their process groups and the other's are left alone", async () => {
    // Given a tool command of this platform that left children, and one of another platform
    const ours = freshHome();
    const theirs = freshHome();
    const pidsFile = join(mkdtempSync(join(tmpdir(), 'ns-pids-')), 'pids');
    writeFileSync(pidsFile, '');
    chmodSync(join(pidsFile, '..'), 0o777);
    chmodSync(pidsFile, 0o666);
    const leader = leaveToolCommand(ours.work, pidsFile);
    const other = leaveToolCommand(theirs.work, join(pidsFile, '..', 'other-pids'));
    await eventually(() => readFileSync(pidsFile, 'utf8').trim().split('\n').length === 3, 'the children to start', 10_000);
    const children = readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number);
    await eventually(() => [leader, ...children].every(isRunning), 'the tool processes to run', 10_000);
    try {
      // When the platform of the first home starts again
      const toolUid = asRoot ? tool!.uid : process.getuid!();
      reapToolLeftovers({ workDir: ours.work, toolUid }, log);
      // Then every process of its tool command is gone, the escaped and the scrubbed ones too
      await eventually(() => ![leader, ...children].some(isRunning), 'the leftovers to die', 10_000);
      // And the other platform's tool command still runs
      expect(isRunning(other)).toBe(true);
    } finally {
      for (const pid of [other, leader, ...children]) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  });
});
