import type { BudgetLedgerPort } from '../../core/store/ports';
import { ModelResponseError } from '../../runner/model/bedrock-provider';
import type { ConverseResponse } from '../../runner/model/converse-response';
import { isUnbilledModelError, ModelRequestRejectedError } from '../../runner/model/model-errors';
import type { ModelProvider, ModelRequest } from '../../runner/model/provider';
import { ReplayExhaustedError, ReplayProvider } from '../../runner/model/replay-provider';
import { session, startInProcessRun, startRunnerHarness, transcriptMicros, type RunnerHarness } from './support/runner-harness';

const awsError = (name: string, status: number) =>
  Object.assign(new Error(`${name} (${status})`), { name, $metadata: { httpStatusCode: status } });
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('which model failures are known to come before billing', () => {
  it.each([
    ['a validation error (400)', awsError('ValidationException', 400)],
    ['throttling (429)', awsError('ThrottlingException', 429)],
    ['access denied (403)', awsError('AccessDeniedException', 403)],
    ['a model that is not ready', awsError('ModelNotReadyException', 429)],
    ['a named error without a status', Object.assign(new Error('x'), { name: 'ThrottlingException' })],
    ['a provider refusal', new ModelRequestRejectedError('bad request', 400)],
    ['a replayed session that ran out', new ReplayExhaustedError('f.jsonl', 3)],
  ])('Given %s, When it is classified, Then it is known to come before billing and its reservation is released', (_what, err) => {
    expect(isUnbilledModelError(err)).toBe(true);
  });

  it.each([
    ['a 5xx', awsError('InternalServerException', 500)],
    ['a model error', awsError('ModelErrorException', 424)],
    ['a model timeout', awsError('ModelTimeoutException', 408)],
    ['service unavailable', awsError('ServiceUnavailableException', 503)],
    ['a response that arrived and failed to parse', new ModelResponseError('usage missing')],
    ['a connection reset after generation', reset()],
    ['a validation name with a 5xx status', awsError('ValidationException', 500)],
    ['something that is not an error', 'boom'],
  ])('Given %s, When it is classified, Then it may have been billed and is settled at its worst case', (_what, err) => {
    expect(isUnbilledModelError(err)).toBe(false);
  });
});

/** Throws `failure` on the first call, then replays the recorded session. */
class FailingFirstCall implements ModelProvider {
  readonly kind = 'replay' as const;
  readonly description: string;
  private calls = 0;
  constructor(
    private readonly inner: ReplayProvider,
    private readonly failure: unknown,
  ) {
    this.description = inner.description;
  }
  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    this.calls += 1;
    if (this.calls === 1) throw this.failure;
    return this.inner.converse(request, signal);
  }
}

/** The ledger, recording every call reservation's worst case. */
function recordingLedger(ledger: BudgetLedgerPort): { ledger: BudgetLedgerPort; reserved: Map<string, number> } {
  const reserved = new Map<string, number>();
  return {
    reserved,
    ledger: {
      ...ledger,
      reserveCall: async (runId, callId, worst) => {
        await ledger.reserveCall(runId, callId, worst);
        reserved.set(callId, worst);
      },
    },
  };
}

describe('a billed model call is never recorded as free (invariant 1 on error paths)', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  async function runWithFirstCallFailing(failure: unknown) {
    const run = await h.createRun();
    const { ledger, reserved } = recordingLedger(h.db.store.ledger);
    const model = new FailingFirstCall(new ReplayProvider(session('fix-failing-test')), failure);
    const { end } = await startInProcessRun(h, run.runId, session('fix-failing-test'), { deps: { model, ledger } }).done;
    const stored = (await h.db.store.runs.get(run.runId))!;
    return { end, stored, reserved };
  }

  it('Given a call refused before billing, When it fails, Then its reservation is released and nothing is spent', async () => {
    const { end, stored, reserved } = await runWithFirstCallFailing(awsError('ValidationException', 400));
    expect(end.kind).toBe('failed');
    expect(reserved.has('turn-0001')).toBe(true);
    expect(stored.spentMicros).toBe(0);
  });

  it.each([
    ['a response that failed to parse', new ModelResponseError('usage missing')],
    ['an error of unknown kind', new Error('something odd')],
  ])('Given %s, When the run ends, Then that call is charged at its worst case', async (_what, failure) => {
    const { end, stored, reserved } = await runWithFirstCallFailing(failure);
    expect(end.kind).toBe('failed');
    const worst = reserved.get('turn-0001')!;
    expect(worst).toBeGreaterThan(0);
    expect(stored.spentMicros).toBe(worst);
  });

  it.each([
    ['a 5xx', awsError('InternalServerException', 500)],
    // A cut connection is as transient as a 5xx, and as possibly billed.
    ['a connection reset after generation', reset()],
  ])(
    'Given %s on the first call, When it is retried under a new reservation, Then the run succeeds and pays the worst case plus the real calls',
    async (_what, failure) => {
      const { end, stored, reserved } = await runWithFirstCallFailing(failure);
      expect(end.kind).toBe('succeeded');
      expect([...reserved.keys()].slice(0, 2)).toEqual(['turn-0001', 'turn-0001-retry1']);
      expect(stored.spentMicros).toBe(reserved.get('turn-0001')! + transcriptMicros(session('fix-failing-test')).micros);
    },
  );
});
