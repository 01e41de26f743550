import type { RunView } from '../core/runs/schemas';
import { runSummaryLine } from './format';

/** Live progress of a run: an ora spinner on a terminal, one line per change otherwise (CI logs, pipes). */
export interface RunProgress {
  update(run: RunView, turns: number, activity?: string): void;
  /** Prints a line above the spinner. */
  note(line: string): void;
  finish(run: RunView, turns: number): void;
}

interface Spinner {
  text: string;
  start(): Spinner;
  stop(): Spinner;
  succeed(text?: string): Spinner;
  fail(text?: string): Spinner;
  clear(): Spinner;
  render(): Spinner;
}

export async function runProgress(options: { stream?: NodeJS.WriteStream; label: string }): Promise<RunProgress> {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) {
    // ora is ESM-only; loaded on demand, and only for a terminal.
    const { default: ora } = await import('ora');
    const spinner = ora({ text: options.label, stream }).start() as unknown as Spinner;
    return {
      update(run, turns, activity) {
        spinner.text = `${options.label} ${runSummaryLine(run, turns, activity)}`;
      },
      note(line) {
        spinner.clear();
        stream.write(`${line}\n`);
        spinner.render();
      },
      finish(run, turns) {
        const text = `${options.label} ${runSummaryLine(run, turns)}`;
        if (run.status === 'SUCCEEDED') spinner.succeed(text);
        else spinner.fail(text);
      },
    };
  }
  let last = '';
  return {
    update(run, turns, activity) {
      const line = runSummaryLine(run, turns, activity);
      if (line !== last) stream.write(`${options.label} ${line}\n`);
      last = line;
    },
    note(line) {
      stream.write(`${line}\n`);
    },
    finish(run, turns) {
      const line = runSummaryLine(run, turns);
      if (line !== last) stream.write(`${options.label} ${line}\n`);
      last = line;
    },
  };
}
