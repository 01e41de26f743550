import { parseConfig } from '../../core/config/load';
import {
  DNS_RULE_PRIORITY,
  MATCH_ALL_DOMAINS,
  dnsFirewallDecision,
  dnsFirewallRules,
  dnsFirewallSpecs,
  dnsSpecMatches,
  runnerNoProxyHosts,
  squidConfig,
  vpcResolvedDomains,
} from '../../core/egress';

const config = parseConfig({
  repos: [{ name: 'acme/web', egressAllow: ['.internal-registry.example', 'cache.acme.example'] }, { name: 'acme/api' }],
  model: {
    id: 'anthropic.claude',
    prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
  },
  github: { tokenSecret: 'nightshift/token' },
});
const region = 'eu-west-1';
const options = { region, privateNamespace: 'nightshift.internal' };
const rules = dnsFirewallRules(config, options);
const decide = (name: string) => dnsFirewallDecision(rules, name);

describe('DNS Firewall domain specifications', () => {
  it('Given squid notation, When it is turned into DNS Firewall notation, Then ".x" is x and its subdomains, "x" exactly x, and a wildcard is refused', () => {
    expect(dnsFirewallSpecs('.github.com')).toEqual(['github.com.', '*.github.com.']);
    expect(dnsFirewallSpecs('pypi.org')).toEqual(['pypi.org.']);
    expect(() => dnsFirewallSpecs('*.evil')).toThrow(/not a domain name/);
  });

  it('Given DNS Firewall specifications, When a name is matched, Then "*." matches everything, "*.x." strict subdomains, otherwise the exact name only', () => {
    expect(dnsSpecMatches(MATCH_ALL_DOMAINS, 'anything.example')).toBe(true);
    expect(dnsSpecMatches('*.github.com.', 'api.github.com')).toBe(true);
    expect(dnsSpecMatches('*.github.com.', 'github.com')).toBe(false);
    expect(dnsSpecMatches('*.github.com.', 'evilgithub.com')).toBe(false);
    expect(dnsSpecMatches('pypi.org.', 'PyPI.org.')).toBe(true);
    expect(dnsSpecMatches('pypi.org.', 'x.pypi.org')).toBe(false);
  });
});

describe('the rule group', () => {
  it('Given the rule group, Then it allows first and blocks everything else last, failing closed', () => {
    expect(rules.map((r) => [r.priority, r.action])).toEqual([
      [DNS_RULE_PRIORITY.allowVpcNames, 'ALLOW'],
      [DNS_RULE_PRIORITY.blockEverythingElse, 'BLOCK'],
    ]);
    expect(rules.at(-1)!.domains).toEqual([MATCH_ALL_DOMAINS]);
    // Nothing is left for the resolver's default (resolve): every name gets a decision.
    expect(decide('a.b.c.d.example')).toBe('BLOCK');
  });

  it('Given every name the egress proxy may connect to (squid.conf), on every port, When it is resolved, Then it is allowed', () => {
    // The allow ACLs only: the health-check host is answered by squid itself and never resolved.
    const squidDomains = [...squidConfig(config, { region }).matchAll(/^acl allow_\S+ dstdomain -n (\S+)$/gm)].map((m) => m[1]!);
    expect(squidDomains.length).toBeGreaterThan(10);
    for (const domain of squidDomains) {
      const name = domain.startsWith('.') ? domain.slice(1) : domain;
      expect({ name, decision: decide(name) }).toEqual({ name, decision: 'ALLOW' });
      if (domain.startsWith('.'))
        expect({ name: `deep.sub.${name}`, decision: decide(`deep.sub.${name}`) }).toEqual({ name: `deep.sub.${name}`, decision: 'ALLOW' });
    }
  });

  it("Given what the runner and the Fargate agent reach directly (endpoints, the trace and ECR layer buckets, the proxy's name), When it is resolved, Then it is allowed", () => {
    for (const name of [
      ...runnerNoProxyHosts(region)
        .filter((h) => !/^[0-9.]+$/.test(h))
        .map((h) => (h.startsWith('.') ? `nightshift-traces-abc${h}` : h)),
      `prod-${region}-starport-layer-bucket.s3.${region}.amazonaws.com`,
      `api.ecr.${region}.amazonaws.com`,
      `111122223333.dkr.ecr.${region}.amazonaws.com`,
      `111122223333.ddb.${region}.amazonaws.com`,
      'egress-proxy.nightshift.internal',
    ]) {
      expect({ name, decision: decide(name) }).toEqual({ name, decision: 'ALLOW' });
    }
  });

  it('Given every other name, whatever its shape (exfiltration labels, look-alikes, suffix tricks, other regions, other services), When it is resolved, Then it is blocked', () => {
    const blocked = [
      'c2VjcmV0LXRva2Vu.attacker.example',
      'github.com.attacker.example',
      'githubusercontent.com.evil.example',
      'evilgithub.com',
      'registry.npmjs.org.evil.example',
      'nightshift.internal.attacker.example',
      `secretsmanager.${region}.amazonaws.com`,
      `bedrock-runtime.us-east-1.amazonaws.com`,
      `sqs.${region}.amazonaws.com`,
      `attacker-bucket.s3-website.${region}.amazonaws.com`,
      `abcdef.execute-api.${region}.amazonaws.com`,
      'abc.lambda-url.eu-west-1.on.aws',
      'x.amazonaws.com',
      'localhost',
      '2.0.10.10.in-addr.arpa',
      'ip-10-0-0-5.eu-west-1.compute.internal',
    ];
    for (const name of blocked) expect({ name, decision: decide(name) }).toEqual({ name, decision: 'BLOCK' });
  });

  it("Given a repo's egressAllow, When its names are resolved, Then they are allowed in the whole VPC (squid, not DNS, keeps them on that repo's port)", () => {
    expect(decide('pkg.internal-registry.example')).toBe('ALLOW');
    expect(decide('cache.acme.example')).toBe('ALLOW');
    expect(decide('other.acme.example')).toBe('BLOCK');
  });

  it('Given a domain removed from the allowlist, When the rules are made again, Then it is no longer resolved', () => {
    const narrow = parseConfig({ ...config, egress: { allow: ['github.com'] } });
    const narrowRules = dnsFirewallRules(narrow, options);
    expect(dnsFirewallDecision(narrowRules, 'github.com')).toBe('ALLOW');
    expect(dnsFirewallDecision(narrowRules, 'registry.npmjs.org')).toBe('BLOCK');
    expect(dnsFirewallDecision(narrowRules, 'api.github.com')).toBe('BLOCK');
  });

  it('Given a region or namespace that is not one (they are spliced into names), When the resolved domains are made, Then it is refused', () => {
    expect(() => vpcResolvedDomains(config, { region: 'eu-west-1.evil.example', privateNamespace: 'nightshift.internal' })).toThrow(
      /not an AWS region/,
    );
    expect(() => vpcResolvedDomains(config, { region, privateNamespace: '*' })).toThrow(/not a private namespace/);
  });
});
