import { SubmitRunRequest } from '../../core/runs/schemas';
import { maySubmitTo, RequesterNotAllowedError } from '../../core/runs/access';
import { submitRun } from '../../core/runs/submit';
import { repoSettings } from '../../core/config/load';
import { refusalReasonOf, runSubmittedMetrics, submissionRefusedMetrics } from '../../core/metrics/run-metrics';
import { emitAll } from '../../core/metrics/emf';
import { apiMetrics } from './observability';
import { lazyApiDeps } from './deps';
import { header, jsonBody, parseInput } from './http';
import { parseIdempotencyKey, submitApiDepsFromEnv, submitIdempotently, type SubmitRouteDeps } from './idempotency';
import { SubmitSourceHeader } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';
import type { SubmitRunAnswer } from './answers';

export function runLinks(runId: string) {
  return { self: `/v1/runs/${runId}`, events: `/v1/runs/${runId}/events`, cancel: `/v1/runs/${runId}/cancel` };
}

/** `POST /v1/runs` */
export function submitRunHandler(getDeps: () => SubmitRouteDeps): ApiHandler {
  return apiRoute('submit-run', getDeps, async ({ event, deps, requester, access, log, context }) => {
    const request = parseInput(SubmitRunRequest, jsonBody(event), 'request body');
    const source = parseInput(SubmitSourceHeader, header(event, 'x-nightshift-source'), 'x-nightshift-source header');
    const idempotencyKey = parseIdempotencyKey(header(event, 'idempotency-key'));
    let submitted: { runId: string; status: 'QUEUED'; replayed?: boolean };
    try {
      // repos[].requesters, before anything is read or written (an Idempotency-Key replay included).
      const repo = repoSettings(deps.config, request.repo);
      if (repo && !maySubmitTo(access.caller, repo)) throw new RequesterNotAllowedError(repo.name);
      if (idempotencyKey === undefined) {
        submitted = await submitRun(deps, { request, requester, source });
      } else {
        submitted = await submitIdempotently(deps, { request, requester, source, idempotencyKey }, context);
      }
    } catch (err) {
      const reason = refusalReasonOf(err);
      if (reason) emitAll(apiMetrics, submissionRefusedMetrics(reason, source));
      throw err;
    }
    log.appendKeys({ runId: submitted.runId });
    const replayed = submitted.replayed === true;
    log.info(replayed ? 'run submission replayed' : 'run submitted', {
      repo: request.repo,
      source,
      idempotent: idempotencyKey !== undefined,
    });
    return {
      statusCode: 202,
      body: { runId: submitted.runId, status: submitted.status, links: runLinks(submitted.runId) } satisfies SubmitRunAnswer,
      headers: { location: runLinks(submitted.runId).self },
      // The allowlist's spelling of the repo, as the run record and the dashboard have it. A replayed
      // Idempotency-Key answers the same run again; it was counted when it was submitted.
      metrics: replayed ? [] : runSubmittedMetrics({ repo: repoSettings(deps.config, request.repo)?.name ?? request.repo, source }),
    };
  });
}

export const handler = submitRunHandler(lazyApiDeps(submitApiDepsFromEnv));
