import { lazyApiDeps, readApiDepsFromEnv } from './deps';
import { listInboxHandler } from './inbox-item';

export const handler = listInboxHandler(lazyApiDeps(readApiDepsFromEnv));
