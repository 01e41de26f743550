import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createBudgetLedger } from './budget-ledger';
import { createConcurrencySlots } from './concurrency-slots';
import { createInboxStore, type InboxStore } from './inbox-store';
import { createIntakeFlag } from './intake-flag';
import { createReviewPlaces, type ReviewPlacesPort } from './review-places';
import type {
  BudgetLedgerPort,
  ConcurrencySlotsPort,
  IntakeFlagPort,
  RunEventLog,
  RunKeysPort,
  ListingRunRepository,
} from '../../core/store/ports';
import { createRunEventLog } from './run-event-log';
import { createRunKeys } from './run-keys';
import { createListingRunRepository } from './run-list';
import type { ListIndexMode } from './run-list';
import { createRunQueue, type RunQueuePort } from './run-queue';
import type { TableNames } from './tables';

export interface Store {
  runs: ListingRunRepository;
  events: RunEventLog;
  ledger: BudgetLedgerPort;
  slots: ConcurrencySlotsPort;
  intake: IntakeFlagPort;
  runKeys: RunKeysPort;
  inbox: InboxStore;
  /** A requester's review places (`concurrency.maxOpenPrsPerRequester`). */
  reviewPlaces: ReviewPlacesPort;
  queue: RunQueuePort;
}

export interface StoreOptions {
  /** The clock for timestamps and Retry-After; injectable for tests. */
  now?: () => Date;
  /** Which indexes the run list reads (adapters/dynamodb/run-list.ts); `keys` unless the table lacks them. */
  listIndexes?: ListIndexMode;
}

/** The persistence layer over one set of tables (DynamoDB, or dynalite offline). */
export function createStore(doc: DynamoDBDocumentClient, names: TableNames, options: StoreOptions = {}): Store {
  const now = options.now ?? (() => new Date());
  return {
    runs: createListingRunRepository(doc, names.runs, options.listIndexes ? { listIndexes: options.listIndexes } : {}),
    events: createRunEventLog(doc, names.events, now),
    ledger: createBudgetLedger(doc, { runs: names.runs, control: names.control }, now),
    slots: createConcurrencySlots(doc, names.control, now),
    intake: createIntakeFlag(doc, names.control, now),
    runKeys: createRunKeys(doc, names.runs),
    inbox: createInboxStore(doc, names.inbox),
    reviewPlaces: createReviewPlaces(doc, names.control),
    queue: createRunQueue(doc, names.control),
  };
}

export { CallNotReservedError, LedgerInconsistencyError, secondsUntilNextUtcDay } from './budget-ledger';
export { RunAlreadyExistsError } from './run-repository';
