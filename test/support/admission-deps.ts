import type { Store } from '../../adapters/dynamodb';
import type { AdmissionDeps } from '../../core/runs/admission';

/** Admission over a store's runs, queue, events, slots and run keys (one slot each unless `overrides` say otherwise). */
export function admissionDepsOf(store: Store, overrides: Partial<AdmissionDeps> = {}): AdmissionDeps {
  return {
    runs: store.runs,
    queue: store.queue,
    events: store.events,
    slots: store.slots,
    runKeys: store.runKeys,
    caps: { global: 1, perRepo: 1 },
    ...overrides,
  };
}
