import type { FinalizeInput } from '../../core/runs/finalize';
import type { RunnerResult } from '../../core/runs/schemas';

/**
 * Finalize's input for a run whose runner succeeded and opened pull request `number` of acme/web from
 * `nightshift/<runId>-tidy`; `result` puts fields of the runner's result over that.
 */
export function prOpenedInput(runId: string, number = 7, result: Partial<RunnerResult> = {}): FinalizeInput {
  return {
    runId,
    status: 'SUCCEEDED',
    reason: { code: 'pr_opened', message: 'done' },
    result: {
      outcome: 'pr_opened',
      branch: `nightshift/${runId}-tidy`,
      prUrl: `https://github.com/acme/web/pull/${number}`,
      question: null,
      summary: 'done',
      ...result,
    },
  };
}
