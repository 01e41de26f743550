import type { SetupCacheKey } from '../../core/setup-cache';

/** Where entries live: S3 through the broker on AWS, a directory in local mode. */
export interface SetupCacheStore {
  /** Writes the entry to `file`; false when there is none (or it cannot be read now). */
  fetch(key: SetupCacheKey, file: string): Promise<boolean>;
  /** Stores `file` as the entry; `exists` when another run stored it first (entries are never replaced). */
  save(key: SetupCacheKey, file: string): Promise<'saved' | 'exists'>;
}

export interface SetupCacheSettings {
  store: SetupCacheStore;
  image: string;
}
