import { answerDepsFromEnv, lazyApiDeps } from './deps';
import { resolveInboxItemHandler } from './inbox-item';

export const handler = resolveInboxItemHandler(lazyApiDeps(answerDepsFromEnv));
