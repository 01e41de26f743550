import { lazyApiDeps, readApiDepsFromEnv } from './read-deps';
import { getInboxItemHandler } from './inbox-item';

export const handler = getInboxItemHandler(lazyApiDeps(readApiDepsFromEnv));
