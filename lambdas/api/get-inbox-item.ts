import { lazyApiDeps, readApiDepsFromEnv } from './deps';
import { getInboxItemHandler } from './inbox-item';

export const handler = getInboxItemHandler(lazyApiDeps(readApiDepsFromEnv));
