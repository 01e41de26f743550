import type { ModelConfig, NightshiftConfig } from '../config/schema';
import { awsProxiedHosts, runnerNoProxyHosts } from './aws-endpoints';
import { modelProviderHosts } from './model-hosts';
import { reduceDomains } from './squid-config';

/**
 * The Route 53 Resolver DNS Firewall rules of the runner VPC (infra/constructs/dns-firewall.ts).
 * Security groups do not filter the VPC resolver, so without these a tool could leak data in the
 * names it looks up (`<data>.attacker.example`) even though it can connect nowhere. The VPC resolves
 * exactly what something in it must reach, and nothing else:
 *
 * - what the egress proxy resolves for the runs: the egress allowlist (`egress.allow`), every repo's
 *   `egressAllow` (the VPC cannot tell repos apart; squid keeps them on their ports) and the regional
 *   AWS API hosts it forwards for the runner (`awsProxiedHosts`), and the model API host of an
 *   anthropic or openai provider (`modelProviderHosts`);
 * - what the runner and the Fargate agent (image pull, log driver) reach directly through the VPC
 *   endpoints: DynamoDB (also its account-based `<account>.ddb` endpoints), S3 (regional, and its
 *   virtual-hosted bucket names: the trace bucket and ECR's layer bucket), CloudWatch Logs, ECR api and
 *   dkr (`<account>.dkr.ecr`);
 * - the stack's private namespace (the proxy's Cloud Map name).
 *
 * Wildcards are used only inside names AWS itself serves (`*.s3.<region>.amazonaws.com`,
 * `*.dkr.ecr…`, `*.ddb…`): a query for such a name is answered by AWS's own name servers, so it reaches
 * no one a tool could read it from.
 */

/** A DNS Firewall domain specification that matches every name (the block-everything-else rule). */
export const MATCH_ALL_DOMAINS = '*.';

/** Rule priorities in the rule group: lowest first, and the first rule that matches decides. */
export const DNS_RULE_PRIORITY = { allowVpcNames: 100, blockEverythingElse: 200 } as const;

export type DnsFirewallAction = 'ALLOW' | 'BLOCK';

export interface DnsFirewallRule {
  /** Names the rule's domain list in the stack. */
  readonly name: string;
  readonly priority: number;
  readonly action: DnsFirewallAction;
  /** DNS Firewall domain specifications (fully qualified, trailing dot; `*.` prefix for subdomains). */
  readonly domains: readonly string[];
}

export interface DnsFirewallOptions {
  /** The stack's region (the AWS hosts are regional). */
  readonly region: string;
  /** The private DNS namespace of the stack (Cloud Map), e.g. `nightshift.internal`. */
  readonly privateNamespace: string;
}

/** AWS hosts reached from the VPC without the proxy (gateway and interface endpoints), squid style. */
export function awsVpcEndpointHosts(region: string): string[] {
  const direct = runnerNoProxyHosts(region).filter((host) => !/^[0-9.]+$/.test(host));
  return [
    ...direct,
    `.ddb.${region}.amazonaws.com`, // DynamoDB account-based endpoints (<account>.ddb.<region>.amazonaws.com)
    `api.ecr.${region}.amazonaws.com`, // image pull: GetAuthorizationToken, manifests
    `.dkr.ecr.${region}.amazonaws.com`, // image pull: <account>.dkr.ecr.<region>.amazonaws.com
  ];
}

/**
 * Every name the VPC must resolve, in squid's notation (a leading dot: the domain and its subdomains),
 * reduced to the widest entries.
 */
export function vpcResolvedDomains(
  config: Pick<NightshiftConfig, 'repos' | 'egress'> & { model?: Pick<ModelConfig, 'provider' | 'baseUrl'> },
  options: DnsFirewallOptions,
): string[] {
  const namespace = options.privateNamespace.toLowerCase();
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(namespace))
    throw new Error(`not a private namespace: ${JSON.stringify(options.privateNamespace)}`);
  return reduceDomains([
    ...config.egress.allow,
    ...config.repos.flatMap((repo) => repo.egressAllow ?? []),
    ...awsProxiedHosts(options.region),
    ...modelProviderHosts(config.model),
    ...awsVpcEndpointHosts(options.region),
    `.${namespace}`,
  ]);
}

/** A squid-style domain as DNS Firewall specifications: `.example.com` is `example.com.` and `*.example.com.`. */
export function dnsFirewallSpecs(domain: string): string[] {
  const name = domain.replace(/^\./, '').replace(/\.$/, '').toLowerCase();
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(name)) throw new Error(`not a domain name for DNS Firewall: ${JSON.stringify(domain)}`);
  return domain.startsWith('.') ? [`${name}.`, `*.${name}.`] : [`${name}.`];
}

/** The rule group: allow the names the VPC needs, then block every other name (fail closed). */
export function dnsFirewallRules(
  config: Pick<NightshiftConfig, 'repos' | 'egress'> & { model?: Pick<ModelConfig, 'provider' | 'baseUrl'> },
  options: DnsFirewallOptions,
): DnsFirewallRule[] {
  const allowed = [...new Set(vpcResolvedDomains(config, options).flatMap(dnsFirewallSpecs))].sort();
  return [
    { name: 'VpcNames', priority: DNS_RULE_PRIORITY.allowVpcNames, action: 'ALLOW', domains: allowed },
    { name: 'EverythingElse', priority: DNS_RULE_PRIORITY.blockEverythingElse, action: 'BLOCK', domains: [MATCH_ALL_DOMAINS] },
  ];
}

/**
 * Whether a DNS Firewall domain specification matches a query name, as DNS Firewall matches them:
 * `*.` matches every name, `*.example.com.` the subdomains of example.com (not example.com itself),
 * anything else that exact name; case-insensitive, trailing dot optional.
 */
export function dnsSpecMatches(spec: string, queryName: string): boolean {
  const fqdn = (s: string) => (s.endsWith('.') ? s : `${s}.`).toLowerCase();
  const name = fqdn(queryName);
  const pattern = fqdn(spec);
  if (pattern === MATCH_ALL_DOMAINS) return true;
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
  return name === pattern;
}

/** What the rule group does with a query: the action of the lowest-priority rule that matches (none: resolved). */
export function dnsFirewallDecision(rules: readonly DnsFirewallRule[], queryName: string): DnsFirewallAction | 'NO_MATCH' {
  const match = [...rules]
    .sort((a, b) => a.priority - b.priority)
    .find((rule) => rule.domains.some((spec) => dnsSpecMatches(spec, queryName)));
  return match?.action ?? 'NO_MATCH';
}
