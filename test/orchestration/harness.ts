import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { cancelRun } from '../../core/runs/cancel';
import type { ExecutionInput } from '../../core/runs/execution';
import { submitRun } from '../../core/runs/submit';
import type { NightshiftConfig } from '../../core/config/schema';
import { controlItemKey, ledgerDay } from '../../adapters/dynamodb/tables';
import { LocalStateMachine, type IntegrationCall, type LocalStateMachineOptions } from '../../local/state-machine';
import { capsOf } from '../../core/runs/caps';
import type { WakeDelivery } from '../../core/runs/queue-wake';
import type { RunPriority } from '../../core/runs/schemas';
import { createAdmitHandler } from '../../lambdas/orchestrator/admit';
import { createBackstopHandler } from '../../lambdas/orchestrator/backstop';
import { queueWakerOf, type OrchestratorDeps } from '../../lambdas/orchestrator/deps';
import { createFinalizeHandler } from '../../lambdas/orchestrator/finalize';
import { createPauseHandler } from '../../lambdas/orchestrator/pause';
import { createAutomaticResumeHandler } from '../../lambdas/orchestrator/automatic-resume';
import { resolveInboxItem } from '../../core/runs/answer';
import type { ResolveInboxRequest } from '../../core/inbox/inbox-item';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { eventually } from '../support/eventually';
import { freshEachTest } from '../support/fresh-each-test';
import { synthesize } from '../infra/synth';

export const RUN_TASK = 'arn:aws:states:::ecs:runTask.waitForTaskToken';

/**
 * The usual set-up of an orchestration test file: the stack synthesized once for the file (the
 * definition under test is the deployed one, never a copy), a fresh harness for each test, stopped
 * after it (`freshEachTest`). The answer stands for the current test's harness, so a file writes
 * `const h = withOrchestrationHarness(config)` once and uses `h` in every test.
 */
export function withOrchestrationHarness(config: NightshiftConfig): OrchestrationHarness {
  let template: unknown;
  beforeAll(() => {
    template = synthesize({ config, prebuiltRunnerImage: true }).json;
  });
  return freshEachTest(() => OrchestrationHarness.start(template, config));
}

/**
 * The run state machine from the synthesized template, executed offline: Lambda states are the real
 * handlers over dynalite, the runner is this test (it sees each runTask call and answers through the
 * task token), the API's own submit and cancel start and stop executions.
 */
export class OrchestrationHarness {
  private nextInputOverride: Partial<ExecutionInput> | undefined;

  private constructor(
    readonly db: DynaliteHarness,
    readonly machine: LocalStateMachine,
    readonly deps: OrchestratorDeps,
    readonly config: NightshiftConfig,
    /** Every runTask call the state machine made, in order. */
    readonly runTasks: IntegrationCall[],
    /** Run ids whose tasks finalize asked to stop. */
    readonly stoppedTasks: string[],
    /** Execution ends the GitHub webhook function's rule received (it edits a GitHub run's status comment; these runs have no thread). */
    readonly githubRunEnds: unknown[],
  ) {}

  static async start(
    template: unknown,
    config: NightshiftConfig,
    options: Pick<LocalStateMachineOptions, 'callbackTimeScale'> = {},
  ): Promise<OrchestrationHarness> {
    const db = await startDynalite();
    const stoppedTasks: string[] = [];
    let machineRef: LocalStateMachine | undefined;
    const caps = capsOf(config);
    // SendTaskSuccess as the Lambda functions make it (lambdas/orchestrator/task-callbacks.ts), on the offline machine.
    const completeTask = async (token: string, output: string): Promise<WakeDelivery> => {
      try {
        await machineRef!.sendTaskSuccess(token, output);
        return 'delivered';
      } catch (err) {
        if (err instanceof Error && (err.name === 'TaskTimedOut' || err.name === 'InvalidToken')) return 'gone';
        throw err;
      }
    };
    const deps: OrchestratorDeps = {
      runs: db.store.runs,
      events: db.store.events,
      ledger: db.store.ledger,
      slots: db.store.slots,
      queue: db.store.queue,
      runKeys: db.store.runKeys,
      inbox: db.store.inbox,
      caps,
      completeTask,
      wakeQueue: queueWakerOf({ queue: db.store.queue, slots: db.store.slots, caps, completeTask }),
      stopRunTasks: async (runId) => {
        stoppedTasks.push(runId);
      },
    };
    const runTasks: IntegrationCall[] = [];
    const githubRunEnds: unknown[] = [];
    const lazy = () => deps;
    const machine = LocalStateMachine.fromTemplate(template, {
      handlers: {
        'lambdas/orchestrator/admit.ts': createAdmitHandler(lazy),
        'lambdas/orchestrator/finalize.ts': createFinalizeHandler(lazy),
        'lambdas/orchestrator/backstop.ts': createBackstopHandler(lazy),
        'lambdas/orchestrator/pause.ts': createPauseHandler(lazy),
        'lambdas/orchestrator/automatic-resume.ts': createAutomaticResumeHandler(lazy),
        'lambdas/github/webhook.ts': async (event) => {
          githubRunEnds.push(event);
        },
      },
      integrations: {
        [RUN_TASK]: async (call) => {
          runTasks.push(call);
        },
      },
      waitStateMs: 5,
      retryIntervalMs: 0,
      ...options,
    });
    machineRef = machine;
    return new OrchestrationHarness(db, machine, deps, config, runTasks, stoppedTasks, githubRunEnds);
  }

  async stop(): Promise<void> {
    await this.machine.close();
    await this.db.stop();
  }

  /** Submits a run through the API's submit logic; its execution starts on the offline machine. */
  async submit(
    repo: string,
    inputOverride?: Partial<ExecutionInput>,
    who: { requester?: string; priority?: RunPriority } = {},
  ): Promise<string> {
    this.nextInputOverride = inputOverride;
    const { runId } = await submitRun(
      {
        ...this.deps,
        config: this.config,
        intake: this.db.store.intake,
        startExecution: async (input) => {
          this.machine.start(input.runId, { ...input, ...this.nextInputOverride });
        },
      },
      {
        request: { repo, prompt: 'Fix the failing date test', ...(who.priority ? { priority: who.priority } : {}) },
        requester: who.requester ?? 'alice',
        source: 'api',
      },
    );
    return runId;
  }

  async cancel(runId: string): Promise<void> {
    await cancelRun(
      {
        ...this.deps,
        stopExecution: async (id, cause) => {
          await this.machine.stopExecution(this.machine.describe(id).executionArn, 'Nightshift.Cancelled', cause);
        },
      },
      { runId, requester: 'alice', access: { caller: { requester: 'alice', groups: [] }, admin: false } },
    );
  }

  /** Resolves an inbox item as the API does (`POST /v1/inbox/{itemId}`), as `caller` (an admin or not). */
  async resolve(itemId: string, request: ResolveInboxRequest, caller = 'alice', admin = false) {
    return resolveInboxItem(
      {
        inbox: this.db.store.inbox,
        runs: this.db.store.runs,
        events: this.db.store.events,
        sendTaskSuccess: (token, output) => this.machine.sendTaskSuccess(token, output),
        sendTaskFailure: (token, error, cause) => this.machine.sendTaskFailure(token, error, cause),
        config: this.config,
        ledger: this.db.store.ledger,
        threads: createThreadStore(this.db.doc, this.db.names.control),
      },
      { itemId, access: { caller: { requester: caller, groups: [] }, admin }, request },
    );
  }

  /** The runner tasks started for a run so far. */
  runnersOf(runId: string): IntegrationCall[] {
    return this.runTasks.filter((c) => c.executionName === runId);
  }

  /** The runner task started for a run (waits for it). */
  async runnerOf(runId: string): Promise<{ token: string; parameters: Record<string, unknown> }> {
    const call = await eventually(() => this.runTasks.find((c) => c.executionName === runId), `the runner of ${runId} to start`);
    return { token: call.token!, parameters: call.parameters as Record<string, unknown> };
  }

  /** What the runner does first: RUNNING, then some spend charged to the run. */
  async runnerBegins(runId: string, spentMicros: number, chargeId = 'compute-1'): Promise<void> {
    await this.db.store.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
    await this.db.store.ledger.charge(runId, chargeId, spentMicros);
  }

  async ended(runId: string) {
    const execution = await this.machine.waitForExecution(runId);
    const run = await this.db.store.runs.get(runId);
    if (!run) throw new Error(`run ${runId} vanished`);
    return { execution, run };
  }

  /** Invariants after every path: no slot held (global and per repo), the ledger settled exactly once. */
  async expectNothingLeaked(runIds: string[]): Promise<void> {
    expect(await this.db.store.slots.holders()).toEqual([]);
    for (const runId of runIds) {
      const run = await this.db.store.runs.get(runId);
      expect(run?.settled).toBe(true);
      const repoSlot = await this.control(controlItemKey.repoSlot(run!.repo));
      expect(repoSlot?.count ?? 0).toBe(0);
    }
    const runs = await Promise.all(runIds.map((id) => this.db.store.runs.get(id)));
    const day = ledgerDay(new Date(runs[0]!.createdAt));
    const orgDay = await this.control(controlItemKey.orgDay(day));
    // Each run's unused budget came back exactly once: what stays committed is what was spent.
    expect(orgDay?.committedMicros).toBe(runs.reduce((sum, r) => sum + r!.spentMicros, 0));
    // And no entry of a finished run stays on the day (the day item does not grow with the runs).
    for (const run of runs) expect((orgDay?.reservations as Record<string, number> | undefined)?.[run!.runId]).toBeUndefined();
  }

  private async control(pk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.names.control, Key: { pk }, ConsistentRead: true }));
    return Item;
  }
}
