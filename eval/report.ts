import type { TokenUsage } from '../core/pricing';
import type { Grade } from './grader';

/** One trial of one task: how the run went (from its record and events) and its grade. */
export interface TrialResult {
  taskId: string;
  trial: number;
  runId: string;
  /** `succeeded/pr_opened`, `succeeded/question`, `failed/model_context_window_exceeded`, … */
  ending: string;
  costUsd: number;
  tokens: TokenUsage;
  turns: number;
  toolCalls: number;
  toolErrors: number;
  edits: number;
  editFailures: number;
  /** Compactions of the conversation (near the window or after an overflow). */
  compactions: number;
  grade: Grade;
  /** The recorded session (responses, and the tool outputs beside it). */
  replay: string | undefined;
}

export interface TaskSummary {
  taskId: string;
  trials: number;
  resolved: number;
  passAt1: number;
  passAtK: number;
}

export interface EvalReport {
  model: string;
  k: number;
  tasks: TaskSummary[];
  trials: TrialResult[];
  resolveRate: number;
  passAt1: number;
  passAtK: number;
  costUsd: number;
  costPerTrialUsd: number;
  /** Input tokens read from the prompt cache, of all input tokens (plain, cache read, cache write). */
  cacheReadShare: number;
  meanTurns: number;
  toolErrorRate: number;
  editFailureRate: number;
  endings: Record<string, number>;
}

/**
 * The unbiased pass@k estimator (Chen et al. 2021): with n trials of which c resolved, the chance that
 * at least one of k trials drawn without replacement resolves: 1 - C(n-c, k) / C(n, k).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (n <= 0 || k <= 0 || k > n) throw new Error(`pass@k needs 0 < k <= n (n=${n}, k=${k})`);
  if (c < 0 || c > n) throw new Error(`pass@k needs 0 <= c <= n (n=${n}, c=${c})`);
  if (n - c < k) return 1;
  let failAll = 1;
  for (let i = n - c + 1; i <= n; i++) failAll *= 1 - k / i;
  return 1 - failAll;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

export function summarize(model: string, k: number, trials: readonly TrialResult[]): EvalReport {
  if (trials.length === 0) throw new Error('no trials to report');
  const ids = [...new Set(trials.map((t) => t.taskId))];
  const tasks = ids.map((taskId): TaskSummary => {
    const mine = trials.filter((t) => t.taskId === taskId);
    const resolved = mine.filter((t) => t.grade.resolved).length;
    return {
      taskId,
      trials: mine.length,
      resolved,
      passAt1: passAtK(mine.length, resolved, 1),
      passAtK: passAtK(mine.length, resolved, Math.min(k, mine.length)),
    };
  });
  const input = sum(trials.map((t) => t.tokens.input + t.tokens.cacheRead + t.tokens.cacheWrite));
  const endings: Record<string, number> = {};
  for (const t of trials) endings[t.ending] = (endings[t.ending] ?? 0) + 1;
  const costUsd = sum(trials.map((t) => t.costUsd));
  return {
    model,
    k,
    tasks,
    trials: [...trials],
    resolveRate: ratio(trials.filter((t) => t.grade.resolved).length, trials.length),
    passAt1: ratio(sum(tasks.map((t) => t.passAt1)), tasks.length),
    passAtK: ratio(sum(tasks.map((t) => t.passAtK)), tasks.length),
    costUsd,
    costPerTrialUsd: costUsd / trials.length,
    cacheReadShare: ratio(sum(trials.map((t) => t.tokens.cacheRead)), input),
    meanTurns: ratio(sum(trials.map((t) => t.turns)), trials.length),
    toolErrorRate: ratio(sum(trials.map((t) => t.toolErrors)), sum(trials.map((t) => t.toolCalls))),
    editFailureRate: ratio(sum(trials.map((t) => t.editFailures)), sum(trials.map((t) => t.edits))),
    endings,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The report as a terminal shows it. */
export function formatReport(report: EvalReport): string {
  const lines = [
    `Nightshift eval: ${report.model}, ${report.tasks.length} task(s), k=${report.k}, ${report.trials.length} trial(s)`,
    '',
    `resolve rate      ${pct(report.resolveRate)}`,
    `pass@1            ${pct(report.passAt1)}`,
    ...(report.k > 1 ? [`pass@${report.k}${' '.repeat(Math.max(1, 13 - String(report.k).length))}${pct(report.passAtK)}`] : []),
    `cost              $${report.costUsd.toFixed(4)} ($${report.costPerTrialUsd.toFixed(4)} per trial)`,
    `cache-read share  ${pct(report.cacheReadShare)} of input tokens`,
    `turns             ${report.meanTurns.toFixed(1)} per trial`,
    `tool errors       ${pct(report.toolErrorRate)} of tool calls`,
    `edit failures     ${pct(report.editFailureRate)} of edit_file calls`,
    `endings           ${Object.entries(report.endings)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([e, n]) => `${e} ×${n}`)
      .join(', ')}`,
    '',
    'task                          resolved  pass@1  pass@k',
    ...report.tasks.map(
      (t) => `${t.taskId.padEnd(30)}${`${t.resolved}/${t.trials}`.padEnd(10)}${pct(t.passAt1).padEnd(8)}${pct(t.passAtK)}`,
    ),
    '',
    'trials',
    ...report.trials.map(
      (t) =>
        `${t.taskId} #${t.trial} ${t.runId}: ${t.grade.resolved ? 'resolved' : 'not resolved'}, ${t.ending}, ${t.turns} turns, $${t.costUsd.toFixed(4)}${t.grade.reasons.length ? `\n    ${t.grade.reasons.join('\n    ')}` : ''}${t.replay ? `\n    replay: ${t.replay}` : ''}`,
    ),
  ];
  return lines.join('\n');
}
