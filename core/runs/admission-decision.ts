import * as z from 'zod';

/**
 * What the Admit step decided:
 * - `admitted`: the run holds a global and a per-repo slot and is STARTING; `runKey` is the run key
 *   for the task about to launch (its hash is on the run item; a retried admission issues a new one);
 * - `queued`: no slot free; the run stays QUEUED at `queuePosition` (1 = next), its queue entry holds
 *   the token its Admit state waits on (the state machine never sees this decision: the state goes on
 *   waiting);
 * - `woken`: not an admission decision but what a waker completes a queued run's Admit state with
 *   (core/runs/queue-wake.ts): the run goes through Admit again;
 * - `cancelled`: a cancel was requested before it started (Finalize ends it CANCELLED);
 * - `expired`: queued longer than MAX_QUEUED_MINUTES (Finalize ends it TIMED_OUT);
 * - `ended`: the run is already terminal (for example cancelled by the API); Finalize only re-runs the clean-up.
 */
export const AdmissionDecision = z.enum(['admitted', 'queued', 'woken', 'cancelled', 'expired', 'ended']);
export type AdmissionDecision = z.infer<typeof AdmissionDecision>;
