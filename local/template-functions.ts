import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorText } from './api-server';
import type { LocalFunction } from './aws-endpoints';
import { localLambdaContext } from './lambda-context';
import type { LocalLog } from './local-log';
import type { PlatformMeter } from './meter/platform-meter';
import { lambdaSubscriptionsOf, matchesFilterPolicy, snsLambdaEvent, type LambdaSubscription, type PublishedMessage } from './sns-topics';
import type { ExtractedStateMachine } from './state-machine';

type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

const TOKEN_BROKER_ENTRY = 'lambdas/token-broker.ts';

/**
 * The Lambda functions of the synthesized template, served in this process from their handler modules
 * (each function's `nightshift:entry` metadata names its module): by function name for the loopback
 * Lambda endpoint, by module for the state machine's tasks, and as SNS delivers to the template's
 * Lambda subscriptions. A module is loaded on first use.
 */
export class TemplateFunctions {
  /** By function name: what the loopback Lambda endpoint invokes (local/aws-endpoints.ts). */
  readonly byName = new Map<string, LocalFunction>();
  private readonly loaded = new Map<string, Handler>();
  private subscriptions: LambdaSubscription[] = [];

  /** With `meter`, each invocation is counted with its duration, by module. */
  constructor(private readonly options: { repoRoot: string; log: LocalLog; meter?: PlatformMeter }) {}

  /** The handler exported by module `entry` (relative to the repository root). */
  handlerOf(entry: string): Handler {
    let handler = this.loaded.get(entry);
    if (!handler) {
      // require, not import(): under tsx's CommonJS hooks import() cannot load TypeScript.
      const module = require(join(this.options.repoRoot, entry)) as { handler?: unknown };
      if (typeof module.handler !== 'function') throw new Error(`${entry} exports no handler`);
      handler = module.handler as Handler;
      const { meter } = this.options;
      if (meter) handler = metered(handler, entry, meter);
      this.loaded.set(entry, handler);
    }
    return handler;
  }

  /**
   * Serves every function of the template (and the token broker under a local name when the template
   * has none); answers the state machine's task handlers by module.
   */
  serve(extracted: ExtractedStateMachine, template: unknown): Record<string, (event: unknown) => Promise<unknown>> {
    const handlers: Record<string, (event: unknown) => Promise<unknown>> = {};
    for (const [arn, entry] of extracted.lambdaEntries) {
      const name = arn.slice(arn.lastIndexOf(':') + 1);
      handlers[entry] = (event) => this.handlerOf(entry)(event, localLambdaContext(name, 90_000));
      this.byName.set(name, async (payload, context) => this.handlerOf(entry)(payload, context));
    }
    this.subscriptions = lambdaSubscriptionsOf(template, extracted.lambdaEntries);
    if (
      ![...extracted.lambdaEntries.values()].includes(TOKEN_BROKER_ENTRY) &&
      existsSync(join(this.options.repoRoot, TOKEN_BROKER_ENTRY))
    ) {
      // The template does not define the broker function (yet): serve the module under a local name.
      this.options.log.warn('the template has no token broker function; serving lambdas/token-broker.ts as "token-broker"');
      this.byName.set('token-broker', async (payload, context) => this.handlerOf(TOKEN_BROKER_ENTRY)(payload, context));
    }
    return handlers;
  }

  /** Delivers a published message to the template's Lambda subscriptions of its topic whose filter policy matches, as SNS does. */
  deliver(message: PublishedMessage, messageId: string): void {
    const { log } = this.options;
    for (const subscription of this.subscriptions) {
      if (subscription.topicArn !== message.topicArn || !matchesFilterPolicy(subscription.filterPolicy, message.attributes)) continue;
      const event = snsLambdaEvent(message, messageId, `${message.topicArn}:${subscription.entry}`);
      void (async () => {
        // Lambda's asynchronous invocation: the first attempt and two retries.
        for (let attempt = 1; attempt <= 3; attempt++) {
          try {
            await this.handlerOf(subscription.entry)(structuredClone(event), localLambdaContext(subscription.entry, 90_000));
            return;
          } catch (error) {
            log.error('SNS subscription delivery failed', { entry: subscription.entry, attempt, error: errorText(error) });
          }
        }
      })();
    }
  }
}

function metered(handler: Handler, entry: string, meter: PlatformMeter): Handler {
  return async (event, context) => {
    const t0 = performance.now();
    try {
      return await handler(event, context);
    } finally {
      // Lambda bills each invocation's duration rounded up to the millisecond.
      meter.lambdaInvocation(entry, Math.ceil(performance.now() - t0));
    }
  };
}

/** The name of the function whose handler module is `entry`, if the template has one. */
export function functionNameOf(lambdaEntries: ReadonlyMap<string, string>, entry: string): string | undefined {
  for (const [arn, e] of lambdaEntries) if (e === entry) return arn.slice(arn.lastIndexOf(':') + 1);
  return undefined;
}

/** The token broker's function name: the template's, else the local name `serve` gives the module. */
export function tokenBrokerName(lambdaEntries: ReadonlyMap<string, string>): string {
  return functionNameOf(lambdaEntries, TOKEN_BROKER_ENTRY) ?? 'token-broker';
}
