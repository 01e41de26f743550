import {
  CfnResource,
  type IPolicyValidationContext,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
  type Stack,
} from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type { IConstruct } from 'constructs';
import { acknowledgeGuard } from './constructs/nag';

/**
 * cfn-guard with the AWS Control Tower proactive controls, run offline by the plugin's bundled binary
 * on every synth that validates (`cdk synth`, and the tests that do not set CDK_VALIDATION=false). No
 * rule is disabled for the app: each finding this design accepts is acknowledged on its resource,
 * next to the resource (or, for kinds of resource every construct creates, below), with its reason.
 *
 * The plugin reports violations without a severity. Once any finding of a plugin is acknowledged,
 * aws-cdk-lib re-decides the plugin's success from the severities left, and a violation without one
 * no longer fails synth (it is only printed). Every violation is therefore marked an error here.
 */
export function guardValidator(): IPolicyValidationPlugin {
  return new BlockingGuardValidator(new CfnGuardValidator({ disabledRules: [] }));
}

class BlockingGuardValidator implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor(private readonly inner: CfnGuardValidator) {
    this.name = inner.name;
    if (inner.version !== undefined) this.version = inner.version;
    if (inner.ruleIds !== undefined) this.ruleIds = inner.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const report = this.inner.validate(context);
    return { ...report, violations: report.violations.map((v) => ({ ...v, severity: v.severity ?? 'error' })) };
  }
}

/** The functions that call GitHub's API, with what they call it for (so their acknowledgement says so). */
const githubCallers = new WeakMap<IConstruct, string>();

/**
 * Records that `fn` calls GitHub's API (`what`: what for), so that its `lambda_inside_vpc_check`
 * acknowledgement says so; every other function's says it calls AWS APIs only.
 */
export function callsGithubApi(fn: lambda.IFunction, what: string): void {
  const resource = fn.node.defaultChild;
  if (!resource) throw new Error(`${fn.node.path} has no function resource`);
  githubCallers.set(resource, what);
}

/** Log retention at or above this many days satisfies Control Tower (ct-cloudwatch-pr-2). */
const CONTROL_TOWER_LOG_RETENTION_DAYS = 365;

/**
 * Acknowledgements for the findings that every log group and every function of the stack share,
 * made per resource from that resource's own settings: a log group kept a year, or encrypted with a
 * key, or a function placed in a VPC, gets no acknowledgement and so would not hide a later finding.
 */
export function acknowledgeSharedGuardFindings(stack: Stack): void {
  for (const construct of stack.node.findAll()) {
    if (construct instanceof logs.CfnLogGroup) {
      const days = construct.retentionInDays;
      if (days !== undefined && days < CONTROL_TOWER_LOG_RETENTION_DAYS) {
        acknowledgeGuard(construct, {
          rule: 'cloudwatch_log_group_retention_period_check',
          reason: `Kept ${days} days on purpose, not a year: the runner's, the proxy's, the DNS firewall's and the functions' logs can quote repository content, branches and hosts, and follow the traces' ${days}-day rule (docs/architecture.md, State).`,
        });
      }
      if (construct.kmsKeyId === undefined) {
        acknowledgeGuard(construct, {
          rule: 'cloudwatch_log_group_encrypted_check',
          reason:
            'Encrypted at rest by CloudWatch Logs with AWS-owned keys; a customer-managed key per log group (and its key policy for the logs service) is left to the operator.',
        });
      }
    }
    const isFunction = CfnResource.isCfnResource(construct) && construct.cfnResourceType === 'AWS::Lambda::Function';
    if (isFunction && !(construct instanceof lambda.CfnFunction && construct.vpcConfig !== undefined)) {
      const github = githubCallers.get(construct);
      acknowledgeGuard(construct, {
        rule: 'lambda_inside_vpc_check',
        reason: `Outside the runner VPC on purpose: it runs only platform code, never repository or model-written code, and calls ${
          github ? `AWS APIs and GitHub's API (${github})` : 'AWS APIs only'
        }; the isolated runner VPC could reach ${github ? 'GitHub only through the egress proxy, and AWS' : 'those'} only through more endpoints or a NAT gateway.`,
      });
    }
  }
}
