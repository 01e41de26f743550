import { SNSClient } from '@aws-sdk/client-sns';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv } from '../../core/env';
import { snsInboxNotifier } from '../orchestrator/inbox-topic';
import { answerDepsFromEnv, lazyApiDeps, type AnswerApiDeps } from './deps';
import { resolveInboxItemHandler } from './inbox-item';

/**
 * With the GitHub triggers, an item resolved here is announced on the inbox topic
 * (STATUS_EVENTS_TOPIC_ARN), so the webhook function moves the run's status comment on from "waiting".
 */
export function resolveDepsFromEnv(env: NodeJS.ProcessEnv = process.env): AnswerApiDeps {
  const topic = optionalEnv('STATUS_EVENTS_TOPIC_ARN', env);
  return {
    ...answerDepsFromEnv(env),
    ...(topic ? { notify: snsInboxNotifier(new SNSClient({}), topic, runtimeConfig().github.commentCommand) } : {}),
  };
}

export const handler = resolveInboxItemHandler(lazyApiDeps(() => resolveDepsFromEnv()));
