import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repoRoot = join(__dirname, '..', '..');
// The script under test is plain JavaScript with Node's built-ins only (nothing is installed when it runs).
const { installReason } = require('../../bin/ensure-dependencies.js') as { installReason: (root: string) => string | undefined };

/** A clone as git leaves it: package.json, the lock file and bin/, no node_modules. */
function freshClone(): string {
  const root = mkdtempSync(join(tmpdir(), 'ns-clone-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(repoRoot, 'bin', 'ensure-dependencies.js'), join(root, 'bin', 'ensure-dependencies.js'));
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({
      name: 'clone',
      version: '0.0.0',
      scripts: { test: 'node bin/ensure-dependencies.js && node -e "console.log(\'tests ran\')"' },
    }),
  );
  writeFileSync(join(root, 'package-lock.json'), '{}');
  return root;
}

/**
 * A stand-in for npm (NIGHTSHIFT_NPM) that records how it was called and installs as npm ci would:
 * node_modules with its hidden lock file. (A real `npm ci` of this project is what CI runs.)
 */
function fakeNpm(root: string): string {
  const file = join(root, 'fake-npm.js');
  writeFileSync(
    file,
    `#!${process.execPath}\nconst fs = require('node:fs');\nfs.appendFileSync(${JSON.stringify(join(root, 'npm-calls'))}, process.argv.slice(2).join(' ') + '\\n');\nfs.mkdirSync('node_modules', { recursive: true });\nfs.writeFileSync('node_modules/.package-lock.json', '{}');\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

describe('the first command on a fresh clone installs the dependencies', () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('Given node_modules missing, older than the lock file, or not npm-installed, When checked, Then each is a reason to install; a current one is not', () => {
    const root = freshClone();
    roots.push(root);
    expect(installReason(root)).toBe('node_modules is missing');
    mkdirSync(join(root, 'node_modules'));
    expect(installReason(root)).toMatch(/not installed by npm/);
    writeFileSync(join(root, 'node_modules', '.package-lock.json'), '{}');
    expect(installReason(root)).toBeUndefined();
    // A pull that changed the lock file after the install.
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'node_modules', '.package-lock.json'), past, past);
    expect(installReason(root)).toBe('node_modules is older than package-lock.json');
  });

  it('Given a fresh clone, When npm test is the first command, Then npm ci runs once before the tests, and not again', () => {
    const root = freshClone();
    roots.push(root);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_NPM: fakeNpm(root) };
    const first = spawnSync('npm', ['test'], { cwd: root, env, encoding: 'utf8' });
    expect(first.status).toBe(0);
    expect(first.stderr).toContain('nightshift: node_modules is missing; installing the dependencies first (npm ci)');
    expect(first.stdout).toContain('tests ran');
    expect(readFileSync(join(root, 'npm-calls'), 'utf8')).toBe('ci --no-audit --no-fund\n');

    const second = spawnSync('npm', ['test'], { cwd: root, env, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain('installing the dependencies');
    expect(readFileSync(join(root, 'npm-calls'), 'utf8')).toBe('ci --no-audit --no-fund\n');
  });

  it("Given npm ci fails, When the first command runs, Then it stops with npm's exit code and says so", () => {
    const root = freshClone();
    roots.push(root);
    const failing = join(root, 'failing-npm.js');
    writeFileSync(failing, `#!${process.execPath}\nprocess.exit(3);\n`);
    chmodSync(failing, 0o755);
    const result = spawnSync(process.execPath, [join(root, 'bin', 'ensure-dependencies.js')], {
      cwd: root,
      env: { PATH: process.env.PATH, NIGHTSHIFT_NPM: failing },
      encoding: 'utf8',
    });
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('nightshift: npm ci failed (exit 3)');
  });

  it('Given this repository, When its scripts are read, Then npm test, npm run demo and npm start each check the dependencies first', () => {
    const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['test', 'demo', 'start']) expect(scripts[name]).toMatch(/^node bin\/ensure-dependencies\.js && /);
  });
});
