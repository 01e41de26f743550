import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Faults and races against a real DynamoDB (dynalite) for the store tests: a document client that
 * sends every command through to the real one, except that it can
 *   - run a competing write just before the nth command that matches (the race a conditional write
 *     must survive: another writer between a store's read and its write), and
 *   - throw a throttling fault (`ProvisionedThroughputExceededException`, not a failed condition)
 *     instead of sending the nth command that matches, so a test can check the fault is not swallowed.
 * Nothing of the store is mocked: the store under test gets `faults.doc`, the competing writer gets
 * the real client, and each trigger says whether it fired, so a race test can show the race happened.
 */

/** The part of a lib-dynamodb command this wrapper reads: its class (via instanceof) and its input. */
interface SentCommand {
  readonly input: object;
}
type CommandClass = abstract new (...args: never[]) => SentCommand;

export interface CommandMatch {
  /** The command class, e.g. `UpdateCommand` or `GetCommand` from @aws-sdk/lib-dynamodb. */
  command: CommandClass;
  /** The table it is sent to; any table when absent. */
  table?: string;
  /** Each attribute given must equal the command's `Key` attribute of the same name. */
  key?: Record<string, string | number>;
  /** A further test on the command's input (e.g. that its UpdateExpression is the reservation's). */
  where?: (input: Record<string, unknown>) => boolean;
}

export interface Trigger {
  /** How many times this trigger acted (0 or 1: each trigger acts once). */
  readonly fired: number;
}

export interface DynamoFaults {
  /** The client to hand the store under test. */
  readonly doc: DynamoDBDocumentClient;
  /**
   * Runs `write` just before the `nth` (1-based, default 1) command matching `match` is sent, once.
   * `write` gets the real client, so its own commands are neither matched nor counted.
   */
  before(match: CommandMatch, write: (real: DynamoDBDocumentClient) => Promise<void>, options?: { nth?: number }): Trigger;
  /** Throws a `ProvisionedThroughputExceededException` instead of sending the `nth` matching command, once. */
  throttle(match: CommandMatch, options?: { nth?: number }): Trigger;
  /** How many commands matching `match` were sent to the real client (a throttled one was not sent). */
  sentCount(match: CommandMatch): number;
}

/** The fault DynamoDB answers a throttled request with; never a failed condition. */
export function throttlingFault(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({
    message: 'Rate of requests exceeds the allowed throughput (injected by the test)',
    $metadata: { httpStatusCode: 400 },
  });
}

function matches(match: CommandMatch, command: SentCommand): boolean {
  if (!(command instanceof match.command)) return false;
  const input = command.input as Record<string, unknown>;
  if (match.table !== undefined && input.TableName !== match.table) return false;
  if (match.key !== undefined) {
    const key = (input.Key ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(match.key)) if (key[name] !== value) return false;
  }
  return match.where === undefined || match.where(input);
}

interface Rule {
  match: CommandMatch;
  nth: number;
  seen: number;
  fired: number;
  act(): Promise<void>;
}

export function withFaults(real: DynamoDBDocumentClient): DynamoFaults {
  const rules: Rule[] = [];
  const sent: SentCommand[] = [];

  async function send(command: SentCommand): Promise<unknown> {
    for (const rule of rules) {
      if (rule.fired > 0 || !matches(rule.match, command)) continue;
      rule.seen += 1;
      if (rule.seen !== rule.nth) continue;
      rule.fired += 1;
      await rule.act();
    }
    sent.push(command);
    return (real.send as (command: SentCommand) => Promise<unknown>)(command);
  }

  function addRule(match: CommandMatch, nth: number, act: () => Promise<void>): Trigger {
    if (!Number.isInteger(nth) || nth < 1) throw new Error(`nth must be a positive integer, got ${nth}`);
    const rule: Rule = { match, nth, seen: 0, fired: 0, act };
    rules.push(rule);
    return {
      get fired() {
        return rule.fired;
      },
    };
  }

  const doc = new Proxy(real, {
    get(target, property) {
      if (property === 'send') return send;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

  return {
    doc,
    before: (match, write, options = {}) => addRule(match, options.nth ?? 1, () => write(real)),
    throttle: (match, options = {}) =>
      addRule(match, options.nth ?? 1, async () => {
        throw throttlingFault();
      }),
    sentCount: (match) => sent.filter((command) => matches(match, command)).length,
  };
}
