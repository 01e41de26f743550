import type { NightshiftConfig } from '../config/schema';
import type { SlotCaps } from '../store/ports';

/** The concurrency caps admission enforces, from the config: global, per repository, per requester (when set). */
export function capsOf(config: Pick<NightshiftConfig, 'concurrency'>): SlotCaps {
  const { global, perRepo, perRequester } = config.concurrency;
  return { global, perRepo, ...(perRequester !== undefined ? { perRequester } : {}) };
}
