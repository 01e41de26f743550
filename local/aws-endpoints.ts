import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as z from 'zod';
import { readBody } from './http-listen';
import { localLambdaContext } from './lambda-context';
import type { LocalLog } from './local-log';
import { errorText } from './api-server';
import { parsePublish, type PublishedMessage } from './sns-topics';
import type { ProxyServicePort } from '../core/egress/proxy-demand';

/**
 * The loopback AWS endpoints local mode serves, so the runner and the handlers keep their one code path
 * (plain SDK clients, pointed here with AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_LAMBDA):
 * - Step Functions, AWS JSON 1.0 (`X-Amz-Target: AWSStepFunctions.<Operation>`): the task-token
 *   operations and Start/StopExecution, answered by the local executor;
 * - Lambda Invoke (`POST /2015-03-31/functions/<name>/invocations`), answered by in-process handlers.
 */

/** An error the Step Functions API would return; `name` becomes the response's `__type`. */
export class SfnApiError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface SfnBackend {
  sendTaskSuccess(taskToken: string, output: string): Promise<void>;
  sendTaskFailure(taskToken: string, error: string | undefined, cause: string | undefined): Promise<void>;
  sendTaskHeartbeat(taskToken: string): Promise<void>;
  startExecution(stateMachineArn: string, name: string | undefined, input: string): Promise<{ executionArn: string; startDate: Date }>;
  stopExecution(executionArn: string, error: string | undefined, cause: string | undefined): Promise<{ stopDate: Date }>;
}

/**
 * ECS as far as the orchestrator's clean-up uses it (a run's tasks are found by StartedBy and stopped),
 * and, with the on-demand proxy, Admit: the proxy's service described and scaled.
 */
export interface EcsBackend {
  listTasks(startedBy: string | undefined): string[];
  stopTask(taskArn: string): Promise<void>;
  proxyService?: { cluster: string; service: string; port: ProxyServicePort };
}

/** SNS as far as the Pause function uses it: Publish (local/sns-topics.ts delivers it). */
export interface SnsBackend {
  publish(message: PublishedMessage): Promise<string>;
}

export type LocalFunction = (payload: unknown, context: ReturnType<typeof localLambdaContext>) => Promise<unknown>;

const TaskToken = z.string().min(1).max(4096);
const sfnRequests = {
  SendTaskSuccess: z.object({ taskToken: TaskToken, output: z.string().max(256 * 1024) }).strict(),
  SendTaskFailure: z
    .object({ taskToken: TaskToken, error: z.string().max(256).optional(), cause: z.string().max(32_768).optional() })
    .strict(),
  SendTaskHeartbeat: z.object({ taskToken: TaskToken }).strict(),
  StartExecution: z
    .object({
      stateMachineArn: z.string().min(1),
      name: z.string().min(1).max(80).optional(),
      input: z
        .string()
        .max(256 * 1024)
        .optional(),
      traceHeader: z.string().optional(),
    })
    .strict(),
  StopExecution: z
    .object({ executionArn: z.string().min(1), error: z.string().max(256).optional(), cause: z.string().max(32_768).optional() })
    .strict(),
} as const;
type SfnOperation = keyof typeof sfnRequests;

const ecsListTasks = z
  .object({
    cluster: z.string().optional(),
    startedBy: z.string().max(128).optional(),
    desiredStatus: z.enum(['RUNNING', 'PENDING', 'STOPPED']).optional(),
    nextToken: z.string().optional(),
    maxResults: z.number().optional(),
  })
  .passthrough();
const ecsStopTask = z
  .object({ cluster: z.string().optional(), task: z.string().min(1), reason: z.string().max(255).optional() })
  .passthrough();

const ecsDescribeServices = z
  .object({ cluster: z.string().optional(), services: z.array(z.string().min(1)).min(1).max(10), include: z.array(z.string()).optional() })
  .strict();
const ecsUpdateService = z
  .object({ cluster: z.string().optional(), service: z.string().min(1), desiredCount: z.union([z.literal(0), z.literal(1)]) })
  .strict();

const maxBodyBytes = 6 * 1024 * 1024;

export interface AwsEndpointsOptions {
  sfn: SfnBackend;
  ecs: EcsBackend;
  functions: ReadonlyMap<string, LocalFunction>;
  /** Absent: SNS requests are refused like any operation local mode does not serve. */
  sns?: SnsBackend;
  log: LocalLog;
}

/** ECS errors the SDK maps by `__type`. */
class EcsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Each ECS operation local mode serves: its request parsed, and its answer. */
function ecsOperations(options: AwsEndpointsOptions): Record<string, (json: unknown) => Promise<unknown>> {
  /** The egress proxy's service as DescribeServices and UpdateService answer it (on-demand proxy only). */
  function proxyServiceOf(cluster: string | undefined, name: string) {
    const proxy = options.ecs.proxyService;
    if (!proxy || (cluster !== undefined && cluster !== proxy.cluster)) return undefined;
    const serviceArn = `arn:aws:ecs:us-east-1:000000000000:service/${proxy.cluster}/${proxy.service}`;
    if (name !== proxy.service && name !== serviceArn) return undefined;
    return {
      port: proxy.port,
      describe: async () => ({ serviceName: proxy.service, serviceArn, status: 'ACTIVE', ...(await proxy.port.describe()) }),
    };
  }
  return {
    ListTasks: async (json) => {
      const input = parseEcs(ecsListTasks, json);
      // Local runners are RUNNING until their process exits; a STOPPED listing is always empty.
      return { taskArns: input.desiredStatus === 'STOPPED' ? [] : options.ecs.listTasks(input.startedBy) };
    },
    StopTask: async (json) => {
      const input = parseEcs(ecsStopTask, json);
      await options.ecs.stopTask(input.task);
      return { task: { taskArn: input.task, desiredStatus: 'STOPPED', lastStatus: 'STOPPED', stoppedReason: input.reason ?? null } };
    },
    DescribeServices: async (json) => {
      const input = parseEcs(ecsDescribeServices, json);
      const found = input.services.map((name) => ({ name, service: proxyServiceOf(input.cluster, name) }));
      return {
        services: await Promise.all(found.flatMap(({ service }) => (service ? [service.describe()] : []))),
        failures: found.filter(({ service }) => !service).map(({ name }) => ({ arn: name, reason: 'MISSING' })),
      };
    },
    UpdateService: async (json) => {
      const input = parseEcs(ecsUpdateService, json);
      const service = proxyServiceOf(input.cluster, input.service);
      if (!service) throw new EcsError('ServiceNotFoundException', 'Service not found.');
      options.log.info('ECS UpdateService of the egress proxy', { desiredCount: input.desiredCount });
      await service.port.scaleTo(input.desiredCount);
      return { service: await service.describe() };
    },
  };
}

function parseEcs<T>(schema: z.ZodType<T>, json: unknown): T {
  const input = schema.safeParse(json);
  if (!input.success) throw new EcsError('InvalidParameterException', input.error.message);
  return input.data;
}

export function createAwsEndpoints(options: AwsEndpointsOptions): Server {
  const ecs = ecsOperations(options);
  return createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      options.log.error('aws endpoint request failed', { error: errorText(error) });
      if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message: 'internal error' }, 'application/x-amz-json-1.0');
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too_large') {
      sendJson(res, 413, { __type: 'RequestEntityTooLargeException', message: 'request too large' }, 'application/json');
      return;
    }
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AWSStepFunctions.')) {
      await serveSfn(target.slice('AWSStepFunctions.'.length), body, res);
      return;
    }
    if (typeof target === 'string' && target.startsWith('AmazonEC2ContainerServiceV20141113.')) {
      await serveEcs(target.slice('AmazonEC2ContainerServiceV20141113.'.length), body, res);
      return;
    }
    // SNS speaks the AWS Query protocol: a form body with the Action, answered in XML.
    if (req.method === 'POST' && options.sns && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      await serveSns(new URLSearchParams(body.toString('utf8')), res);
      return;
    }
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (req.method === 'POST' && invoke) {
      await serveInvoke(decodeURIComponent(invoke[1]!), req, body, res);
      return;
    }
    sendJson(res, 404, { __type: 'UnknownOperationException', message: 'not an operation local mode serves' }, 'application/json');
  }

  async function serveSns(form: URLSearchParams, res: ServerResponse): Promise<void> {
    const xml = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    };
    const fault = (code: string, message: string) =>
      xml(
        400,
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`,
      );
    if (form.get('Action') !== 'Publish')
      return fault('InvalidAction', `local mode serves only SNS Publish, not ${form.get('Action') ?? '(none)'}`);
    let message: PublishedMessage;
    try {
      message = parsePublish(form);
    } catch (error) {
      return fault('InvalidParameter', errorText(error));
    }
    const messageId = await options.sns!.publish(message);
    xml(
      200,
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${escapeXml(messageId)}</MessageId></PublishResult><ResponseMetadata><RequestId>${escapeXml(messageId)}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  }

  async function serveSfn(operation: string, body: Buffer, res: ServerResponse): Promise<void> {
    const contentType = 'application/x-amz-json-1.0';
    if (!Object.hasOwn(sfnRequests, operation)) {
      sendJson(res, 400, { __type: 'UnknownOperationException', message: `local mode does not serve ${operation}` }, contentType);
      return;
    }
    const json = jsonBody(body, res, contentType);
    if (json === undefined) return;
    const parsed = sfnRequests[operation as SfnOperation].safeParse(json);
    if (!parsed.success) {
      sendJson(
        res,
        400,
        {
          __type: 'ValidationException',
          message: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
        },
        contentType,
      );
      return;
    }
    try {
      const result = await callSfn(operation as SfnOperation, parsed.data);
      sendJson(res, 200, result, contentType);
    } catch (error) {
      if (error instanceof SfnApiError) {
        sendJson(res, 400, { __type: error.name, message: error.message }, contentType);
        return;
      }
      throw error;
    }
  }

  async function callSfn(operation: SfnOperation, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sfn = options.sfn;
    switch (operation) {
      case 'SendTaskSuccess': {
        const { taskToken, output } = sfnRequests.SendTaskSuccess.parse(input);
        try {
          JSON.parse(output);
        } catch {
          throw new SfnApiError('InvalidOutput', 'output is not JSON');
        }
        await sfn.sendTaskSuccess(taskToken, output);
        return {};
      }
      case 'SendTaskFailure': {
        const { taskToken, error, cause } = sfnRequests.SendTaskFailure.parse(input);
        await sfn.sendTaskFailure(taskToken, error, cause);
        return {};
      }
      case 'SendTaskHeartbeat': {
        await sfn.sendTaskHeartbeat(sfnRequests.SendTaskHeartbeat.parse(input).taskToken);
        return {};
      }
      case 'StartExecution': {
        const { stateMachineArn, name, input: executionInput } = sfnRequests.StartExecution.parse(input);
        const started = await sfn.startExecution(stateMachineArn, name, executionInput ?? '{}');
        // Timestamps travel as epoch seconds in AWS JSON 1.0.
        return { executionArn: started.executionArn, startDate: started.startDate.getTime() / 1000 };
      }
      case 'StopExecution': {
        const { executionArn, error, cause } = sfnRequests.StopExecution.parse(input);
        const stopped = await sfn.stopExecution(executionArn, error, cause);
        return { stopDate: stopped.stopDate.getTime() / 1000 };
      }
    }
  }

  async function serveEcs(operation: string, body: Buffer, res: ServerResponse): Promise<void> {
    const contentType = 'application/x-amz-json-1.1';
    const answer = Object.hasOwn(ecs, operation) ? ecs[operation] : undefined;
    if (!answer) {
      sendJson(res, 400, { __type: 'UnknownOperationException', message: `local mode does not serve ECS ${operation}` }, contentType);
      return;
    }
    const json = jsonBody(body, res, contentType);
    if (json === undefined) return;
    try {
      sendJson(res, 200, await answer(json), contentType);
    } catch (error) {
      if (!(error instanceof EcsError)) throw error;
      sendJson(res, 400, { __type: error.type, message: error.message }, contentType);
    }
  }

  async function serveInvoke(nameOrArn: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    // A function may be named by name, partial ARN or full ARN (optionally with a qualifier).
    const name = /function:([^:]+)/.exec(nameOrArn)?.[1] ?? nameOrArn;
    const fn = options.functions.get(name);
    if (!fn) {
      sendJson(res, 404, { Type: 'User', Message: `Function not found: ${name}` }, 'application/json', {
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      return;
    }
    let payload: unknown;
    try {
      payload = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      sendJson(res, 400, { Type: 'User', Message: 'payload is not JSON' }, 'application/json', {
        'x-amzn-errortype': 'InvalidRequestContentException',
      });
      return;
    }
    const context = localLambdaContext(name);
    const asynchronous = req.headers['x-amz-invocation-type'] === 'Event';
    const run = fn(payload, context);
    if (asynchronous) {
      run.catch((error: unknown) => options.log.error('async invocation failed', { function: name, error: errorText(error) }));
      res.writeHead(202, { 'x-amz-executed-version': '$LATEST' }).end();
      return;
    }
    try {
      const result = await run;
      sendJson(res, 200, result ?? null, 'application/json', { 'x-amz-executed-version': '$LATEST' });
    } catch (error) {
      // As Lambda reports a function error: HTTP 200, X-Amz-Function-Error, and the error as the payload.
      const err = error instanceof Error ? error : new Error(String(error));
      options.log.warn('function returned an error', { function: name, errorType: err.name, error: err.message });
      sendJson(res, 200, { errorType: err.name, errorMessage: err.message }, 'application/json', {
        'x-amz-function-error': 'Unhandled',
        'x-amz-executed-version': '$LATEST',
      });
    }
  }
}

/** The request body as JSON (an empty body is `{}`), or undefined once a SerializationException was sent. */
function jsonBody(body: Buffer, res: ServerResponse, contentType: string): unknown {
  try {
    return JSON.parse(body.toString('utf8') || '{}') as unknown;
  } catch {
    sendJson(res, 400, { __type: 'SerializationException', message: 'body is not JSON' }, contentType);
    return undefined;
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sendJson(res: ServerResponse, status: number, value: unknown, contentType: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
