import { Aws, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53resolver from 'aws-cdk-lib/aws-route53resolver';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { dnsFirewallRules, type DnsFirewallRule } from '../../core/egress';

export interface DnsFirewallProps {
  readonly vpc: ec2.IVpc;
  /** The egress allowlist (default and per repo): what the proxy resolves. */
  readonly config: Pick<NightshiftConfig, 'repos' | 'egress'>;
  /** The stack's private DNS namespace (Cloud Map), resolved inside the VPC. */
  readonly privateNamespace: string;
  /** Retention of the resolver query log. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * Association priority of the rule group on the VPC. 100 is the lowest an account may use (below it
 * only AWS Firewall Manager), so no other rule group of the account is evaluated before this one.
 */
export const DNS_FIREWALL_ASSOCIATION_PRIORITY = 100;

/**
 * Route 53 Resolver DNS Firewall on the runner VPC (docs/network.md: DNS is not a way out).
 * One rule group from `dnsFirewallRules` (core/egress/dns-firewall.ts): ALLOW the names the VPC must
 * resolve, then BLOCK every other name with NXDOMAIN. Fail closed: if DNS Firewall cannot decide, the
 * resolver answers nothing. Every query is logged (with the rule's decision) to a log group.
 */
export class DnsFirewall extends Construct {
  readonly ruleGroup: route53resolver.CfnFirewallRuleGroup;
  readonly domainLists: Readonly<Record<string, route53resolver.CfnFirewallDomainList>>;
  readonly queryLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DnsFirewallProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // The region may be a deploy-time token (environment-agnostic stack): build with a marker, splice it in.
    const regionMarker = 'zz-nightshift-9';
    const region = Token.isUnresolved(stack.region) ? regionMarker : stack.region;
    const rules = dnsFirewallRules(props.config, { region, privateNamespace: props.privateNamespace });

    const lists: Record<string, route53resolver.CfnFirewallDomainList> = {};
    for (const rule of rules) {
      lists[rule.name] = new route53resolver.CfnFirewallDomainList(this, `${rule.name}Domains`, {
        name: `${stack.stackName}-${rule.name}`,
        domains: rule.domains.map((d) => d.split(regionMarker).join(Aws.REGION)),
      });
    }
    this.domainLists = lists;

    this.ruleGroup = new route53resolver.CfnFirewallRuleGroup(this, 'RuleGroup', {
      name: `${stack.stackName}-vpc-dns`,
      firewallRules: rules.map((rule) => firewallRule(rule, lists[rule.name]!)),
    });

    new route53resolver.CfnFirewallRuleGroupAssociation(this, 'Association', {
      name: `${stack.stackName}-vpc-dns`,
      firewallRuleGroupId: this.ruleGroup.attrId,
      vpcId: props.vpc.vpcId,
      priority: DNS_FIREWALL_ASSOCIATION_PRIORITY,
      // CloudFormation is the only writer; with protection on, the stack could not update its own association.
      mutationProtection: 'DISABLED',
    });

    // Fail closed (also AWS's default, stated so that no account-level change can flip it unseen).
    new route53resolver.CfnFirewallConfig(this, 'FailClosed', { resourceId: props.vpc.vpcId, firewallFailOpen: 'DISABLED' });

    // Route 53 Resolver delivers query logs through CloudWatch Logs vended delivery, which adds the
    // log-delivery resource policy for this group when the config is created.
    this.queryLogs = new logs.LogGroup(this, 'QueryLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const queryLogging = new route53resolver.CfnResolverQueryLoggingConfig(this, 'QueryLogging', {
      name: `${stack.stackName}-vpc-dns`,
      destinationArn: this.queryLogs.logGroupArn,
    });
    new route53resolver.CfnResolverQueryLoggingConfigAssociation(this, 'QueryLoggingAssociation', {
      resolverQueryLogConfigId: queryLogging.attrId,
      resourceId: props.vpc.vpcId,
    });
  }
}

function firewallRule(
  rule: DnsFirewallRule,
  list: route53resolver.CfnFirewallDomainList,
): route53resolver.CfnFirewallRuleGroup.FirewallRuleProperty {
  const base = { priority: rule.priority, action: rule.action, firewallDomainListId: list.attrId };
  return rule.action === 'ALLOW'
    ? // Allowed names often answer with a CNAME into a CDN (npm, PyPI, GitHub's content hosts): the
      // decision is made on the name that was asked, not on every name of the chain.
      { ...base, firewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN' }
    : { ...base, blockResponse: 'NXDOMAIN' };
}
