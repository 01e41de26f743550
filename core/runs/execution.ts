import * as z from 'zod';
import { RepoName } from '../config/schema';
import { RunId } from './schemas';

/**
 * Input of one state machine execution (named by the run id). Everything the definition needs per run
 * travels here, so that the same definition runs on AWS and offline.
 */
export const ExecutionInput = z
  .object({
    runId: RunId,
    repo: RepoName,
    /** The run's wall clock, from its maxMinutes: the runTask state's TimeoutSecondsPath. */
    timeoutSeconds: z.number().int().positive(),
    /** noProgressMinutes in seconds: the runTask state's HeartbeatSecondsPath. */
    heartbeatSeconds: z.number().int().positive(),
    /** timeouts.answerHours in seconds: how long the wait-for-a-human state waits on its token. */
    answerSeconds: z.number().int().positive(),
    /** FARGATE_SPOT for repos that opted in, else FARGATE. */
    capacityProvider: z.enum(['FARGATE', 'FARGATE_SPOT']),
  })
  .strict();
export type ExecutionInput = z.infer<typeof ExecutionInput>;
