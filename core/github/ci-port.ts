/**
 * What CI auto-fix reads of a failed CI run (core/github/ci-autofix.ts), with a webhook broker token
 * that also carries `checks: read` and `actions: read` (asked with `ci: true`,
 * lambdas/github/webhook-token-contract.ts). Implemented over Octokit (lambdas/github/github-ci-client.ts)
 * against GitHub or the local forge.
 */
export interface CiJob {
  /** The job id (Actions) or the check run id; for GitHub Actions they are the same number. */
  id: number;
  name: string;
  /** `success`, `failure`, `timed_out`, `cancelled`, `skipped`, `neutral`, … or null while running. */
  conclusion: string | null;
  /** The steps that failed (Actions jobs), in order. */
  failedSteps: string[];
  /** What a check run of another app says about itself (its output title, summary and text), when it says anything. */
  summary: string | null;
  /** True when the job's log can be read through the Actions API (an Actions job or an Actions check run). */
  hasLog: boolean;
}

export interface GithubCiPort {
  /** The jobs of a workflow run (`GET /repos/{o}/{r}/actions/runs/{id}/jobs`, the latest attempt). */
  workflowJobs(workflowRunId: number): Promise<CiJob[]>;
  /** The check runs of a check suite (`GET /repos/{o}/{r}/check-suites/{id}/check-runs`). */
  suiteCheckRuns(checkSuiteId: number): Promise<CiJob[]>;
  /**
   * The end of a job's log (`GET /repos/{o}/{r}/actions/jobs/{id}/logs`): at most `maxBytes` of its
   * last bytes, and whether it was cut; null when the job has no log (any more).
   */
  jobLogTail(jobId: number, maxBytes: number): Promise<{ text: string; truncated: boolean } | null>;
}
