import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { SendTaskHeartbeatCommand } from '@aws-sdk/client-sfn';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brokerTraceSink } from '../../runner/broker-run-data';
import { octokitGithubApi } from '../../runner/github/github-api';
import { newRunnerProxyPassword, toolProxyEnv, withRunnerCredential } from '../../core/egress';
import { proxiedFetch, runnerAwsClients } from '../../runner/egress/proxied-clients';

/**
 * squid refuses loopback and raw IPs by design, so the proof that the runner's clients use the proxy
 * is a tiny loopback proxy that records every CONNECT (and refuses it), next to a plain loopback
 * server that records direct requests.
 */
interface Recorder {
  url: string;
  connects: string[];
  /** The Proxy-Authorization header of each CONNECT ('' when absent). */
  proxyAuth: string[];
  direct: string[];
  server: Server;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startRecorder(): Promise<Recorder> {
  const connects: string[] = [];
  const proxyAuth: string[] = [];
  const direct: string[] = [];
  const server = createServer((req, res) => {
    direct.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      req.url === '/repos/demo/sample-app' ? JSON.stringify({ default_branch: 'main', clone_url: 'https://example.invalid/x.git' }) : '{}',
    );
  });
  server.on('connect', (req, socket) => {
    connects.push(req.url ?? '');
    proxyAuth.push(req.headers['proxy-authorization'] ?? '');
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
  });
  return { url: await listen(server), connects, proxyAuth, direct, server };
}

const agentOf = (client: { config: { requestHandler: unknown } }) =>
  (client.config.requestHandler as NodeHttpHandler).httpHandlerConfigs().httpsAgent;

describe('the runner’s own clients and the egress proxy', () => {
  let proxy: Recorder;
  let endpoint: Recorder;
  const saved = { ...process.env };

  beforeAll(async () => {
    proxy = await startRecorder();
    endpoint = await startRecorder();
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local-secret', AWS_REGION: 'us-east-1' });
  });
  afterAll(async () => {
    process.env = saved;
    for (const r of [proxy, endpoint]) {
      r.server.closeAllConnections();
      await new Promise((resolve) => r.server.close(resolve));
    }
  });

  it("Given NIGHTSHIFT_PROXY_URL set, When the runner's Step Functions, Lambda and Bedrock clients call, Then each goes through the proxy by CONNECT to its regional host", async () => {
    // Given the runner's clients with NIGHTSHIFT_PROXY_URL set
    const aws = runnerAwsClients({ region: 'us-east-1', proxyUrl: proxy.url });
    const [sfn, bedrock] = [await aws.sfn(), await aws.bedrock()];

    // When each makes one real call (the recording proxy refuses the tunnel)
    await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: 't' }))).rejects.toBeDefined();
    await expect(
      aws.lambda.send(new InvokeCommand({ FunctionName: 'nightshift-token-broker', Payload: Buffer.from('{}') })),
    ).rejects.toBeDefined();
    await expect(
      bedrock.send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: 'hi' }] }] })),
    ).rejects.toBeDefined();

    // Then the proxy saw a CONNECT to each service's host, and every client carries the proxy agent
    expect(new Set(proxy.connects)).toEqual(
      new Set(['states.us-east-1.amazonaws.com:443', 'lambda.us-east-1.amazonaws.com:443', 'bedrock-runtime.us-east-1.amazonaws.com:443']),
    );
    for (const client of [sfn, aws.lambda, bedrock]) expect(agentOf(client)).toBeInstanceOf(HttpsProxyAgent);
    // Made once, on first use.
    expect(await aws.bedrock()).toBe(bedrock);
    expect(await aws.sfn()).toBe(sfn);
  });

  it("Given the runner credential, When the AWS clients CONNECT, Then every CONNECT presents it, while the tools' proxy variables carry none", async () => {
    proxy.connects.length = 0;
    proxy.proxyAuth.length = 0;
    const password = newRunnerProxyPassword();
    const aws = runnerAwsClients({ region: 'us-east-1', proxyUrl: withRunnerCredential(proxy.url, password) });
    await expect((await aws.sfn()).send(new SendTaskHeartbeatCommand({ taskToken: 't' }))).rejects.toBeDefined();
    await expect(
      aws.lambda.send(new InvokeCommand({ FunctionName: 'nightshift-token-broker', Payload: Buffer.from('{}') })),
    ).rejects.toBeDefined();
    await expect(
      (await aws.bedrock()).send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: 'hi' }] }] })),
    ).rejects.toBeDefined();
    const basic = `Basic ${Buffer.from(`nightshift-runner:${password}`).toString('base64')}`;
    expect(proxy.proxyAuth.length).toBeGreaterThanOrEqual(3);
    expect(proxy.proxyAuth.every((h) => h === basic)).toBe(true);
    // What the agent's tools get from the same proxy: no user, no password.
    expect(JSON.stringify(toolProxyEnv(proxy.url))).not.toContain(password);
    expect(() => withRunnerCredential(proxy.url, 'not a password')).toThrow();
  });

  it('Given a URL the broker presigned (S3 gateway endpoint), When the trace is stored, Then it is a direct PUT with no CONNECT', async () => {
    proxy.connects.length = 0;
    const before = endpoint.direct.length;
    const runId = '01KC0000000000000000000001';
    const broker = {
      call: async () => ({
        ok: true,
        value: {
          url: `${endpoint.url}/runs/${runId}/trace.jsonl?X-Amz-Signature=s`,
          location: `s3://traces/runs/${runId}/trace.jsonl`,
          expiresAt: new Date().toISOString(),
        },
      }),
    };
    await expect(brokerTraceSink(broker).put(runId, '{}\n')).resolves.toBe(`s3://traces/runs/${runId}/trace.jsonl`);
    expect(endpoint.direct.slice(before)).toEqual([`PUT /runs/${runId}/trace.jsonl?X-Amz-Signature=s`]);
    expect(proxy.connects).toEqual([]);
  });

  it('Given no proxy, When the clients are made, Then none carries a proxy agent', async () => {
    proxy.connects.length = 0;
    process.env.AWS_ENDPOINT_URL_SFN = endpoint.url;
    const local = runnerAwsClients({ region: 'us-east-1' });
    const sfn = await local.sfn();
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: 't' }));
    delete process.env.AWS_ENDPOINT_URL_SFN;
    expect(agentOf(sfn)).not.toBeInstanceOf(HttpsProxyAgent);
    expect(agentOf(local.lambda)).not.toBeInstanceOf(HttpsProxyAgent);
    expect(proxy.connects).toEqual([]);
  });

  it('Given the proxy, When Octokit calls GitHub or a loopback forge, Then GitHub goes through the proxy and the forge directly', async () => {
    proxy.connects.length = 0;
    const fetchViaProxy = proxiedFetch(proxy.url);
    await expect(
      octokitGithubApi({ baseUrl: 'https://api.github.com', token: 'ghs_x', repo: 'demo/sample-app', fetch: fetchViaProxy }).getRepo(),
    ).rejects.toBeDefined();
    expect(proxy.connects).toEqual(['api.github.com:443']);

    const before = endpoint.direct.length;
    const info = await octokitGithubApi({ baseUrl: endpoint.url, token: 'ghs_x', repo: 'demo/sample-app', fetch: fetchViaProxy }).getRepo();
    expect(info.defaultBranch).toBe('main');
    expect(endpoint.direct.slice(before)).toEqual(['GET /repos/demo/sample-app']);
    expect(proxy.connects).toEqual(['api.github.com:443']);
  });
});
