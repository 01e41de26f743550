import { lazyApiDeps, readApiDepsFromEnv } from './read-deps';
import { listInboxHandler } from './inbox-item';

export const handler = listInboxHandler(lazyApiDeps(readApiDepsFromEnv));
