import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { StuckDetector, type ObservedStep, type StuckVerdict } from '../../core/runs/stuck';
import type { PreparedRun } from './prepared-run';

/**
 * The agent loop's stuck watch (core/runs/stuck.ts decides): after each turn's tool calls it takes a
 * fingerprint of the workspace as git sees it (the status, the diff of tracked files against HEAD,
 * and the size and modification time of each untracked file: never reading one, since a tool may
 * have left a FIFO or a symlink there) and hands the turn to the detector.
 */
export class StuckWatch {
  private readonly detector: StuckDetector;

  constructor(private readonly prepared: PreparedRun) {
    this.detector = new StuckDetector({ testCommand: prepared.rules.testCommand });
  }

  async observe(turn: number, steps: readonly ObservedStep[]): Promise<StuckVerdict | undefined> {
    return this.detector.observe({ turn, steps, workspace: await this.workspaceFingerprint() });
  }

  private async workspaceFingerprint(): Promise<string> {
    const { git } = this.prepared.repo;
    const status = await git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']);
    const diff = await git.run(['diff', 'HEAD', '--no-ext-diff', '--no-textconv', '--binary']);
    const hash = createHash('sha256').update(status).update('\0').update(diff);
    for (const entry of status.split('\0')) {
      if (!entry.startsWith('?? ')) continue;
      const path = entry.slice(3);
      try {
        const stat = lstatSync(join(this.prepared.layout.repo, path));
        hash.update(`\0${path}\0${stat.size}\0${stat.mtimeMs}`);
      } catch (err) {
        // Gone since git listed it: the next turn's status says so.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return hash.digest('hex');
  }
}
