import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBareRepoFromDirectory, startForge, type ForgeServer } from '../../local/forge';

export interface OneRepoForge {
  /** The forge's data directory: `acme/web.git` and its records are under it. */
  readonly root: string;
  readonly forge: ForgeServer;
}

/**
 * The local forge on loopback over a fresh directory (named from `prefix`) holding one repository,
 * acme/web, whose main branch has a README: started before the first test of the describe block
 * that calls this, stopped and removed after its last. Its fields are there between the two.
 */
export function withOneRepoForge(prefix: string): OneRepoForge {
  let current: OneRepoForge | undefined;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), prefix));
    const project = mkdtempSync(join(tmpdir(), `${prefix}project-`));
    writeFileSync(join(project, 'README.md'), 'hello\n');
    createBareRepoFromDirectory(root, 'acme/web', project);
    rmSync(project, { recursive: true, force: true });
    current = { root, forge: await startForge({ root }) };
  });
  afterAll(async () => {
    await current?.forge.stop();
    if (current) rmSync(current.root, { recursive: true, force: true });
    current = undefined;
  });
  const started = (): OneRepoForge => {
    if (!current) throw new Error('the forge runs only between the first and the last test of its describe block');
    return current;
  };
  return {
    get root() {
      return started().root;
    },
    get forge() {
      return started().forge;
    },
  };
}
