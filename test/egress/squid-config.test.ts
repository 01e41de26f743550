import { parseConfig } from '../../core/config/load';
import { awsProxiedHosts, proxyPortForRepo, proxyPorts, reduceDomains, repoProxyUrl, squidConfig, toolProxyEnv } from '../../core/egress';

const base = {
  model: {
    id: 'anthropic.claude',
    prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
  },
  github: { tokenSecret: 'nightshift/token' },
};
const repos = (...names: string[]) => names.map((name) => ({ name, egressAllow: [`${name.split('/')[1]}.example`] }));

describe('proxy ports', () => {
  it('Given repos with and without egressAllow, When their proxy ports are given, Then each with egressAllow has its own port and the rest the default 3128', () => {
    const config = parseConfig({ ...base, repos: [...repos('acme/web'), { name: 'acme/docs' }] });
    expect(proxyPortForRepo(config, 'acme/docs')).toMatchObject({ name: 'default', port: 3128 });
    const web = proxyPortForRepo(config, 'ACME/web');
    expect(web.port).toBeGreaterThan(3128);
    expect(web.name).toMatch(/^repo-[0-9a-f]{8}$/);
    expect(repoProxyUrl('http://egress-proxy.nightshift.internal:3128', config, 'acme/web')).toBe(
      `http://egress-proxy.nightshift.internal:${web.port}`,
    );
  });

  it('Given repos on their ports, When other repos are added or reordered, Then each keeps its port and no two share one', () => {
    const before = parseConfig({ ...base, repos: repos('acme/web', 'acme/api') });
    const after = parseConfig({ ...base, repos: [...repos('zeta/first', 'acme/api', 'beta/new'), ...repos('acme/web')] });
    for (const repo of ['acme/web', 'acme/api']) expect(proxyPortForRepo(after, repo)).toEqual(proxyPortForRepo(before, repo));
    const ports = proxyPorts(after).map((p) => p.port);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('squidConfig', () => {
  it('Given an allowlist, When it is reduced, Then it is what squid accepts (a domain and its own ".domain" refused together)', () => {
    expect(reduceDomains(['github.com', '.github.com', 'api.github.com', 'pypi.org', 'PyPI.org'])).toEqual(['.github.com', 'pypi.org']);
  });

  it("Given a repo with extras, When the config is generated, Then the extras are behind its port ACL and the region's AWS hosts behind the runner credential, and the last rule denies all", () => {
    const config = parseConfig({ ...base, repos: repos('acme/web') });
    const conf = squidConfig(config, { region: 'eu-central-1' });
    const web = proxyPortForRepo(config, 'acme/web');
    expect(conf).toContain(`http_port 0.0.0.0:${web.port} name=${web.name}`);
    expect(conf).toContain(`acl allow_${web.name} dstdomain -n web.example`);
    expect(conf).toContain(`http_access allow port_${web.name} allow_${web.name} !internal_dst`);
    for (const host of awsProxiedHosts('eu-central-1')) {
      expect(conf).toContain(`acl aws_api dstdomain -n ${host}`);
      expect(conf).not.toContain(`acl allow_default dstdomain -n ${host}`);
    }
    expect(conf.trimEnd().split('\n').at(-1)).toBe('http_access deny all');
  });

  it('Given an anthropic, openai or loopback model provider, When the config is generated, Then the model API host is allowed, never a loopback one', () => {
    const withModel = (model: Record<string, unknown>) =>
      parseConfig({ ...base, repos: repos('acme/web'), model: { ...base.model, ...model } });
    expect(
      squidConfig(withModel({ provider: 'anthropic', id: 'claude-sonnet-4-5', apiKeySecret: 'k' }), { region: 'eu-central-1' }),
    ).toContain('acl allow_default dstdomain -n api.anthropic.com');
    expect(
      squidConfig(withModel({ provider: 'openai', id: 'gpt-4.1', baseUrl: 'https://llm-gateway.example.com/v1' }), {
        region: 'eu-central-1',
      }),
    ).toContain('acl allow_default dstdomain -n llm-gateway.example.com');
    const ollama = squidConfig(withModel({ provider: 'openai', id: 'llama3.1:8b', baseUrl: 'http://127.0.0.1:11434/v1' }), {
      region: 'eu-central-1',
    });
    expect(ollama).not.toContain('127.0.0.1 ');
    const bedrock = squidConfig(parseConfig({ ...base, repos: repos('acme/web') }), { region: 'eu-central-1' });
    expect(ollama).toBe(bedrock);
    expect(bedrock).not.toContain('anthropic.com');
  });

  it('Given an allowlist that covers every AWS host, When the config is generated, Then the runner credential is asked for the AWS API hosts before any allowlist can open them', () => {
    // An operator allowlist that covers every AWS host must not open the runner's hosts to tools.
    const config = parseConfig({
      ...base,
      egress: { allow: ['.amazonaws.com'] },
      repos: [{ name: 'acme/web', egressAllow: ['.amazonaws.com'] }],
    });
    const access = squidConfig(config, { region: 'us-east-1' })
      .split('\n')
      .filter((l) => l.startsWith('http_access '));
    const deny = access.indexOf('http_access deny aws_api !runner_credential');
    expect(deny).toBeGreaterThan(-1);
    expect(access.slice(0, deny).every((l) => l.startsWith('http_access deny'))).toBe(true);
    const conf = squidConfig(config, { region: 'us-east-1' });
    expect(conf).toContain('auth_param basic program /usr/local/bin/runner-auth.sh /run/squid/runner-credential.sha256');
    expect(conf).toContain('acl runner_credential proxy_auth nightshift-runner');
    expect(() =>
      squidConfig(config, { region: 'us-east-1', runnerAuth: { helper: '/x.sh', hashFile: '/tmp/h\nhttp_access allow all' } }),
    ).toThrow(/unsafe credential hash file/);
  });

  it('Given any allowlist, an empty default one included, When the config is generated, Then it references only ACLs it defines (squid would not start)', () => {
    for (const egress of [{ allow: [] }, {}]) {
      const conf = squidConfig(parseConfig({ ...base, egress, repos: [...repos('acme/web'), { name: 'acme/docs' }] }), {
        region: 'eu-central-1',
      });
      const defined = new Set([...conf.matchAll(/^acl (\S+) /gm)].map((m) => m[1]));
      const used = [...conf.matchAll(/^http_access (?:allow|deny) (.+)$/gm)]
        .flatMap((m) => m[1]!.split(' ').map((name) => name.replace(/^!/, '')))
        .filter((name) => name !== 'all');
      expect(used.length).toBeGreaterThan(0);
      for (const name of used) expect(defined).toContain(name);
    }
  });

  it('Given any config, When it is generated, Then Secrets Manager is never allowed: repo secrets come through the token broker', () => {
    const config = parseConfig({ ...base, repos: [{ name: 'acme/web', secrets: { NPM_TOKEN: 'acme/npm-token' } }] });
    expect(squidConfig(config, { region: 'eu-central-1' })).not.toContain('secretsmanager');
  });

  it('Given values that could inject squid directives, When the config is generated, Then they are refused', () => {
    const config = parseConfig({ ...base, repos: [{ name: 'acme/web' }] });
    expect(() => squidConfig(config, { region: 'us-east-1\nhttp_access allow all' })).toThrow(/not an AWS region/);
    expect(() => squidConfig(config, { region: 'us-east-1', accessLog: 'stdio:/tmp/x\nhttp_access allow all' })).toThrow(
      /unsafe access log/,
    );
  });
});

describe('toolProxyEnv', () => {
  it('Given a proxy URL, When the tool proxy env is made, Then it sets every spelling tools read and keeps loopback direct; a non-http proxy is refused', () => {
    expect(toolProxyEnv('http://127.0.0.1:3129')).toMatchObject({
      HTTPS_PROXY: 'http://127.0.0.1:3129',
      http_proxy: 'http://127.0.0.1:3129',
      NO_PROXY: 'localhost,127.0.0.1,::1',
    });
    expect(() => toolProxyEnv('socks5://127.0.0.1:1080')).toThrow(/http:\/\/host:port/);
  });
});
