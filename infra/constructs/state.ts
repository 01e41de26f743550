import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { acknowledgeGuard } from './nag';
import { SETUP_CACHE_RETENTION_DAYS } from '../../core/setup-cache';
import {
  controlItemKey,
  controlKeys,
  eventsKeys,
  idempotencyKeys,
  queueIndex,
  inboxIndexes,
  inboxIndexSortKey,
  inboxKeys,
  runsIndexes,
  runsIndexSortKey,
  runsKeys,
  runsListIndexes,
  type TableNames,
} from '../../adapters/dynamodb/tables';
import { RUNS_LIST_INDEXES_ENV } from '../../adapters/dynamodb/run-list';
import { RUN_INDEX_FINAL_STAGE, runIndexStage, type RunIndexStage } from '../run-index-stages';

export interface StateProps {
  /** Days a run trace stays in S3 (30, docs/architecture.md). */
  readonly traceRetentionDays: number;
  /** Which runs indexes exist and which the list reads (infra/run-index-stages.ts). Default: the final stage. */
  readonly runIndexStage?: RunIndexStage;
}

/** The key pattern of pause checkpoints in the traces bucket (core/runs/run-objects.ts). */
export const CHECKPOINT_OBJECTS = 'runs/*/checkpoint-*.json';

/**
 * Everything Nightshift remembers: the DynamoDB tables of adapters/dynamodb/tables.ts (on demand,
 * point-in-time recovery, deletion protection, retained when the stack goes) and the run-trace bucket.
 */
export class State extends Construct {
  readonly runs: dynamodb.Table;
  readonly events: dynamodb.Table;
  readonly control: dynamodb.Table;
  readonly idempotency: dynamodb.Table;
  readonly inbox: dynamodb.Table;
  readonly traces: s3.Bucket;
  readonly runIndexStage: RunIndexStage;

  constructor(scope: Construct, id: string, props: StateProps) {
    super(scope, id);

    this.runIndexStage = props.runIndexStage ?? runIndexStage(RUN_INDEX_FINAL_STAGE);
    this.runs = this.table('Runs', { partitionKey: { name: runsKeys.partitionKey, type: dynamodb.AttributeType.STRING } });
    for (const index of this.legacyRunIndexes) {
      this.runs.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: runsIndexSortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    // The list indexes carry keys only: a write that changes neither status nor the derived keys (the
    // ledger's model-call updates) is not copied to them (docs/data-model.md "Run list indexes").
    for (const index of this.listRunIndexes) {
      this.runs.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: runsIndexSortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
    this.events = this.table('Events', {
      partitionKey: { name: eventsKeys.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: eventsKeys.sortKey, type: dynamodb.AttributeType.STRING },
    });
    this.control = this.table('Control', { partitionKey: { name: controlKeys.partitionKey, type: dynamodb.AttributeType.STRING } });
    // Queue entries in admission order, without their task tokens (adapters/dynamodb/run-queue.ts).
    this.control.addGlobalSecondaryIndex({
      indexName: queueIndex.name,
      partitionKey: { name: queueIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: queueIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...queueIndex.projected],
    });
    this.idempotency = this.table('Idempotency', {
      partitionKey: { name: idempotencyKeys.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: idempotencyKeys.ttlAttribute,
    });

    this.inbox = this.table('Inbox', { partitionKey: { name: inboxKeys.partitionKey, type: dynamodb.AttributeType.STRING } });
    for (const index of Object.values(inboxIndexes)) {
      this.inbox.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: inboxIndexSortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    const accessLogs = new s3.Bucket(this, 'TraceAccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: "This bucket receives the trace bucket's server access logs; logging it into itself would loop.",
    });
    acknowledgeGuard(
      accessLogs,
      {
        rule: 's3_bucket_logging_enabled_check',
        reason: "This bucket receives the trace bucket's server access logs; logging it into itself would loop.",
      },
      {
        rule: 's3_bucket_default_encryption_kms_check',
        reason: 'S3 server access logging delivers only to buckets with SSE-S3 default encryption, not SSE-KMS.',
      },
      {
        rule: 's3_bucket_acl_prohibited_check',
        reason: 'S3 server access logging delivers here through the LogDeliveryWrite ACL of this bucket; no user is granted access by ACL.',
      },
      {
        rule: 's3_bucket_versioning_enabled_check',
        reason: 'Only S3 log delivery writes here and access logs expire after 90 days; versions would keep expired logs past that.',
      },
      { rule: 's3_bucket_object_lock_enabled_check', reason: 'Object Lock would stop the 90-day expiry of the access logs.' },
      {
        rule: 's3_event_notifications_enabled_check',
        reason: 'Nothing consumes access-log events; a notification target would only add cost.',
      },
    );

    this.traces = new s3.Bucket(this, 'Traces', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'traces/',
      lifecycleRules: [
        { expiration: Duration.days(props.traceRetentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Setup-cache entries (setup-cache/<owner>/<name>/<key>.tar.gz) are rebuilt by the next run that misses.
        { prefix: 'setup-cache/', expiration: Duration.days(SETUP_CACHE_RETENTION_DAYS) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeGuard(
      this.traces,
      {
        rule: 's3_bucket_default_encryption_kms_check',
        reason: 'SSE-S3: traces are redacted before upload, and SSE-KMS would add a KMS request to every trace write and read.',
      },
      {
        rule: 's3_bucket_versioning_enabled_check',
        reason:
          "A run's trace is one object (runs/<runId>/trace.jsonl) that its runner replaces as the run goes; versions would keep every replaced copy, and deleted traces, past the 30 days traces are kept (docs/architecture.md).",
      },
      {
        rule: 's3_bucket_object_lock_enabled_check',
        reason: 'Object Lock would stop the 30-day expiry the trace bucket exists to enforce.',
      },
      {
        rule: 's3_event_notifications_enabled_check',
        reason: 'Nothing consumes trace-bucket events; a notification target would only add cost.',
      },
    );
  }

  /** Table names as the Lambdas, the runner and local mode read them (adapters/dynamodb/client.ts tableNamesFromEnv). */
  get tableNames(): TableNames {
    return {
      runs: this.runs.tableName,
      events: this.events.tableName,
      control: this.control.tableName,
      idempotency: this.idempotency.tableName,
      inbox: this.inbox.tableName,
    };
  }

  get tableEnvironment(): Record<string, string> {
    const names = this.tableNames;
    return {
      RUNS_TABLE: names.runs,
      EVENTS_TABLE: names.events,
      CONTROL_TABLE: names.control,
      IDEMPOTENCY_TABLE: names.idempotency,
      INBOX_TABLE: names.inbox,
      ...this.runListEnvironment,
    };
  }

  /** Which runs indexes the run list reads at this stage (adapters/dynamodb/run-list.ts listIndexModeFromEnv). */
  get runListEnvironment(): Record<string, string> {
    return { [RUNS_LIST_INDEXES_ENV]: this.runIndexStage.reads };
  }

  private get legacyRunIndexes() {
    return Object.values(runsIndexes).filter((index) => this.runIndexStage.legacy.includes(index.name));
  }

  private get listRunIndexes() {
    return Object.values(runsListIndexes).filter((index) => this.runIndexStage.list.includes(index.name));
  }

  private runIndexArn(name: string): string {
    return `${this.runs.tableArn}/index/${name}`;
  }

  /**
   * The run list (GET /v1/runs, adapters/dynamodb/run-list.ts): at the stages where it reads the KEYS_ONLY list
   * indexes, Query on those indexes and BatchGetItem of the runs they name, on the runs table only;
   * before, Query on the legacy indexes (which grantRunStoreRead already gives).
   */
  grantRunList(grantee: iam.IGrantable): void {
    if (this.runIndexStage.reads !== 'keys') return;
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: this.listRunIndexes.map((index) => this.runIndexArn(index.name)),
    });
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:BatchGetItem'], resourceArns: [this.runs.tableArn] });
  }

  /**
   * Read and write runs, their events, slots, the ledger and the intake flag: exactly the item
   * operations core/store uses (single-item conditional writes and queries), on these tables and the
   * runs table's named indexes, with no wildcard.
   */
  grantRunStore(grantee: iam.IGrantable): void {
    this.grantItems(
      grantee,
      [this.runs, this.events, this.control],
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    );
  }

  /**
   * What the token broker does for a runner (lambdas/token-broker.ts), on the one run whose key the
   * runner presented: read it and its key hash, record RUNNING, the branch and the PR, and the ledger
   * updates (reserveCall, settleCall, charge); append its events; and move the ledger day items by a
   * cost recorded after the run settled (UpdateItem on day keys only, adapters/dynamodb/budget-ledger.ts).
   * No query, no index, no slot, no intake flag. The runner task role itself has none of this.
   */
  grantRunnerStore(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [this.runs.tableArn] });
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:PutItem'], resourceArns: [this.events.tableArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.control.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [controlItemKey.orgDay('*'), controlItemKey.requesterDay('*', '*')] },
      },
    });
  }

  /** The objects of run traces (`runs/<runId>/trace*.jsonl`) and pause checkpoints: PutObject only, for the broker's presigned uploads. */
  grantTraceWrite(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: [this.traces.arnForObjects('runs/*')] });
  }

  /** GetObject of pause checkpoints (`runs/<runId>/checkpoint-<itemId>.json`) and of no trace: for the broker's presigned downloads to a resumed run. */
  grantCheckpointRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.traces.arnForObjects(CHECKPOINT_OBJECTS)] });
  }

  /** Setup-cache entries (`setup-cache/*`): get and put, for the broker's presigned URLs (it picks the run's repository's prefix). */
  grantSetupCache(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject'],
      resourceArns: [this.traces.arnForObjects('setup-cache/*')],
    });
  }

  /** Read and set the intake flag, and nothing else of the control table (the operator's intake switch). */
  grantIntakeFlag(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resourceArns: [this.control.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [controlItemKey.intakeFlag()] } },
    });
  }

  /** The on-demand egress proxy's idle clock (adapters/dynamodb/proxy-idle-clock.ts): the run gauges read, set and clear it. */
  grantProxyIdleClock(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.control.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [controlItemKey.proxyIdle()] } },
    });
  }

  /** Read runs, their events and the intake flag (the API's GET routes). */
  grantRunStoreRead(grantee: iam.IGrantable): void {
    this.grantItems(grantee, [this.runs, this.events, this.control], ['dynamodb:GetItem', 'dynamodb:Query']);
  }

  /**
   * The run queue as the state machine's tasks use it (adapters/dynamodb/run-queue.ts), beside grantRunStore's
   * item reads and writes: the byQueue index (the head of the queue, a run's position) and deleting a
   * queue entry (`queue#…` keys only) once its run leaves the queue.
   */
  grantRunQueue(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.control.tableArn}/index/${queueIndex.name}`] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:DeleteItem'],
      resourceArns: [this.control.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [controlItemKey.queueEntry('*')] } },
    });
  }

  /**
   * The queue sweep of the run gauges (core/runs/queue-wake.ts): read the head of the queue through the
   * byQueue index and take a waiting entry's task token (UpdateItem on `queue#…` keys only) to wake it.
   */
  grantQueueWake(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.control.tableArn}/index/${queueIndex.name}`] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.control.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [controlItemKey.queueEntry('*')] } },
    });
  }

  /**
   * A run's queue position for the API (GET /v1/runs/{id}): its queue entry (GetItem on `queue#…` keys)
   * and a count of the entries ahead of it through the byQueue index.
   */
  grantQueuePositionRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.control.tableArn}/index/${queueIndex.name}`] });
  }

  /**
   * Free slots whose holder run ended or is gone (the slot reconciler, core/runs/slot-reconciler.ts):
   * UpdateItem on the control table's semaphore items only (`slot#…` keys).
   */
  grantSlotRepair(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.control.tableArn],
      conditions: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [
            `${controlItemKey.globalSlot()}`,
            `${controlItemKey.repoSlot('*')}`,
            `${controlItemKey.requesterSlot('*')}`,
          ],
        },
      },
    });
  }

  /**
   * What the run gauges read each minute (lambdas/ops/run-gauges.ts): runs by status through the
   * byStatus index (legacy reads) or the listByStatus index and a BatchGetItem of the runs it names (list
   * reads), a run by id (the slot reconciler), a run's events (when it entered STARTING), and the intake
   * flag and semaphore items of the control table. No Scan, no other index, no other item.
   */
  grantRunGaugeReads(grantee: iam.IGrantable): void {
    const byStatus = this.runIndexStage.reads === 'keys' ? runsListIndexes.status.name : runsIndexes.byStatus.name;
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [this.runIndexArn(byStatus)] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: this.runIndexStage.reads === 'keys' ? ['dynamodb:GetItem', 'dynamodb:BatchGetItem'] : ['dynamodb:GetItem'],
      resourceArns: [this.runs.tableArn],
    });
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [this.events.tableArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.control.tableArn],
      conditions: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [
            controlItemKey.intakeFlag(),
            controlItemKey.globalSlot(),
            controlItemKey.repoSlot('*'),
            controlItemKey.requesterSlot('*'),
          ],
        },
      },
    });
  }

  /**
   * The inbox as the state machine's tasks use it: Pause creates an item (PutItem), Finalize closes the
   * items of an ended run (Query byRun, UpdateItem). No Scan, no delete, only the byRun index.
   */
  grantInboxWrite(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.inbox.tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.inbox.tableArn}/index/${inboxIndexes.byRun.name}`],
    });
  }

  /**
   * Close the inbox items of given runs (the GitHub webhook: a merged or closed pull request closes
   * its runs' pr_ready items; a cancel closes what a run waited on): Query byRun, conditional UpdateItem.
   */
  grantInboxClose(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:UpdateItem'], resourceArns: [this.inbox.tableArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.inbox.tableArn}/index/${inboxIndexes.byRun.name}`],
    });
  }

  /**
   * The review backlog (Admit, `concurrency.maxOpenPrsPerRequester`, core/runs/review-backlog.ts): Query on
   * the byRequester index (a requester's open pr_ready items) and GetItem of items (whether a place's
   * pr_ready item is still open). The review places item is in the control table, which the run store
   * grant already covers.
   */
  grantInboxBacklogRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.inbox.tableArn}/index/${inboxIndexes.byRequester.name}`],
    });
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.inbox.tableArn] });
  }

  /**
   * The queue sweep's check of held runs (core/runs/queue-holds.ts), reads only, and only for the holds
   * this deployment can have: GetItem on the control table's thread items (`thread#…`, GitHub triggers)
   * and review places (`review-places#…`), and the review backlog's inbox reads; the inbox table's name
   * in the function's environment with them.
   */
  grantQueueHoldReads(fn: lambda.Function, holds: { threads: boolean; reviewBacklog: boolean }): void {
    const keys = [
      ...(holds.threads ? [controlItemKey.thread('*')] : []),
      ...(holds.reviewBacklog ? [controlItemKey.reviewPlaces('*')] : []),
    ];
    if (keys.length > 0) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['dynamodb:GetItem'],
        resourceArns: [this.control.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } },
      });
    }
    if (holds.reviewBacklog) {
      this.grantInboxBacklogRead(fn);
      fn.addEnvironment('INBOX_TABLE', this.inbox.tableName);
    }
  }

  /** Read inbox items (the API's GET routes): GetItem and Query on the inbox indexes. */
  grantInboxRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.inbox.tableArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: Object.values(inboxIndexes).map((index) => `${this.inbox.tableArn}/index/${index.name}`),
    });
  }

  /** Read and resolve inbox items (the API: list, get, answer): Get/UpdateItem and Query on the inbox indexes. */
  grantInboxResolve(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [this.inbox.tableArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: Object.values(inboxIndexes).map((index) => `${this.inbox.tableArn}/index/${index.name}`),
    });
  }

  /**
   * The GitHub webhook function's part of the inbox: read an item by id (to post it, to resolve it) and
   * resolve it (conditional UpdateItem). No index, no PutItem: it never lists or creates items.
   */
  grantInboxAnswer(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [this.inbox.tableArn] });
  }

  /** The API's Idempotency-Key records (adapters/dynamodb/idempotency-records.ts): claim (conditional put), read the holder, complete, release. */
  grantIdempotency(grantee: iam.IGrantable): void {
    this.grantItems(grantee, [this.idempotency], ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
  }

  private grantItems(grantee: iam.IGrantable, tables: dynamodb.Table[], actions: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: tables.map((t) => t.tableArn) });
    // The legacy indexes, while the stage still has them (none at the final stage: the list grants its own, grantRunList).
    if (tables.includes(this.runs) && actions.includes('dynamodb:Query') && this.legacyRunIndexes.length > 0) {
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['dynamodb:Query'],
        resourceArns: this.legacyRunIndexes.map((index) => this.runIndexArn(index.name)),
      });
    }
  }

  private table(id: string, props: Pick<dynamodb.TableProps, 'partitionKey' | 'sortKey' | 'timeToLiveAttribute'>): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      ...props,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
