import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Loopback endpoints for the two AWS services the runner calls besides DynamoDB, speaking their
 * wire protocols so the runner's real SDK clients talk to them (AWS_ENDPOINT_URL_SFN / _LAMBDA):
 * Step Functions' SendTask* (JSON 1.0) and Lambda Invoke (REST).
 */
export interface SfnCall {
  action: 'SendTaskHeartbeat' | 'SendTaskSuccess' | 'SendTaskFailure';
  input: { taskToken: string; output?: string; error?: string; cause?: string };
}

export interface AwsLoopback {
  url: string;
  sfnCalls: SfnCall[];
  invocations: { functionName: string; payload: unknown }[];
  stop(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startAwsLoopback(invoke: (functionName: string, payload: unknown) => Promise<unknown>): Promise<AwsLoopback> {
  const sfnCalls: SfnCall[] = [];
  const invocations: { functionName: string; payload: unknown }[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const text = await body(req);
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith('AWSStepFunctions.')) {
        sfnCalls.push({ action: target.split('.')[1] as SfnCall['action'], input: JSON.parse(text) as SfnCall['input'] });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
        return;
      }
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      if (m && req.method === 'POST') {
        const functionName = decodeURIComponent(m[1]!);
        const payload = JSON.parse(text) as unknown;
        invocations.push({ functionName, payload });
        try {
          const out = await invoke(functionName, payload);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(out));
        } catch (err) {
          res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
          res.end(JSON.stringify({ errorType: (err as Error).name, errorMessage: (err as Error).message }));
        }
        return;
      }
      res.writeHead(404);
      res.end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sfnCalls,
    invocations,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
