import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ForgePull } from './forge-records';

const execFileAsync = promisify(execFile);

/** A pull request's diff as GitHub computes it: from the merge base of base and head to head. */
export async function pullDiff(bare: string, pull: Pick<ForgePull, 'base' | 'head'>): Promise<string> {
  const { stdout } = await execFileAsync(
    'git',
    [
      '--git-dir',
      bare,
      'diff',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '-M',
      `refs/heads/${pull.base}...refs/heads/${pull.head}`,
      '--',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}
