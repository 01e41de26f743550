import * as z from 'zod';
import type { CiJob, GithubCiPort } from '../../core/github/ci-port';
import { boundedOctokit } from './github-repo-client';

/** A log read stops after this many bytes whatever its size (only the end is kept). */
const MAX_LOG_READ_BYTES = 32 * 1024 * 1024;

const Step = z.object({ name: z.string(), conclusion: z.string().nullable().optional() }).passthrough();
const Job = z
  .object({ id: z.number(), name: z.string(), conclusion: z.string().nullable(), steps: z.array(Step).optional() })
  .passthrough();
const Jobs = z.object({ jobs: z.array(Job) }).passthrough();
const CheckRun = z
  .object({
    id: z.number(),
    name: z.string(),
    conclusion: z.string().nullable(),
    output: z
      .object({
        title: z.string().nullable().optional(),
        summary: z.string().nullable().optional(),
        text: z.string().nullable().optional(),
      })
      .passthrough()
      .nullable()
      .optional(),
    app: z.object({ slug: z.string().optional() }).passthrough().nullable().optional(),
  })
  .passthrough();
const CheckRuns = z.object({ check_runs: z.array(CheckRun) }).passthrough();

/** The last `maxBytes` of a stream, reading at most MAX_LOG_READ_BYTES. */
async function tailOf(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const reader = stream.getReader();
  let kept: Buffer = Buffer.alloc(0);
  let read = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.length;
    kept = Buffer.concat([kept, Buffer.from(value)]);
    if (kept.length > maxBytes) {
      kept = kept.subarray(kept.length - maxBytes);
      truncated = true;
    }
    if (read > MAX_LOG_READ_BYTES) {
      await reader.cancel();
      truncated = true;
      break;
    }
  }
  return { text: kept.toString('utf8'), truncated };
}

/**
 * GithubCiPort over Octokit, with a webhook broker token asked with `ci: true` (checks and actions
 * read). Each call is bounded like the webhook's other GitHub calls; a job's log is a redirect to a
 * download, followed by fetch (which drops the Authorization header on the other origin).
 */
export function octokitCiClient(options: {
  baseUrl: string;
  token: string;
  repo: string;
  fetch?: typeof fetch;
  userAgent?: string;
}): GithubCiPort {
  const [owner, repo] = options.repo.split('/') as [string, string];
  const octokit = boundedOctokit(options);
  return {
    async workflowJobs(workflowRunId) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs', {
        owner,
        repo,
        run_id: workflowRunId,
        filter: 'latest',
        per_page: 100,
      });
      return Jobs.parse(data).jobs.map(
        (j): CiJob => ({
          id: j.id,
          name: j.name,
          conclusion: j.conclusion,
          failedSteps: (j.steps ?? []).filter((s) => s.conclusion === 'failure' || s.conclusion === 'timed_out').map((s) => s.name),
          summary: null,
          hasLog: true,
        }),
      );
    },
    async suiteCheckRuns(checkSuiteId) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs', {
        owner,
        repo,
        check_suite_id: checkSuiteId,
        filter: 'latest',
        per_page: 100,
      });
      return CheckRuns.parse(data).check_runs.map((c): CiJob => {
        const said = [c.output?.title, c.output?.summary, c.output?.text]
          .filter((t): t is string => typeof t === 'string' && t.trim() !== '')
          .join('\n\n');
        // An Actions check run's id is its job's id, so its log is readable; other apps' runs say what they say in their output.
        return {
          id: c.id,
          name: c.name,
          conclusion: c.conclusion,
          failedSteps: [],
          summary: said || null,
          hasLog: c.app?.slug === 'github-actions',
        };
      });
    },
    async jobLogTail(jobId, maxBytes) {
      try {
        const response = await octokit.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', {
          owner,
          repo,
          job_id: jobId,
          request: { parseSuccessResponseBody: false },
        });
        const body = response.data as unknown;
        if (!(body instanceof ReadableStream))
          return typeof body === 'string' ? { text: body.slice(-maxBytes), truncated: body.length > maxBytes } : null;
        return await tailOf(body as ReadableStream<Uint8Array>, maxBytes);
      } catch (err) {
        // Logs expire (410) or were deleted (404).
        const status = (err as { status?: number }).status;
        if (status === 404 || status === 410) return null;
        throw err;
      }
    },
  };
}
