import { CfnResource, type IPolicyValidationContext, type IPolicyValidationPlugin, type PolicyValidationPluginReport, type Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
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
          reason: `Kept ${days} days on purpose, not a year: run, proxy and DNS logs can quote repository content and hosts, and follow the traces' 30-day rule (SPEC §5).`,
        });
      }
      if (construct.kmsKeyId === undefined) {
        acknowledgeGuard(construct, {
          rule: 'cloudwatch_log_group_encrypted_check',
          reason: 'Encrypted at rest by CloudWatch Logs with AWS-owned keys; a customer-managed key per log group (and its key policy for the logs service) is left to the operator.',
        });
      }
    }
    const isFunction = CfnResource.isCfnResource(construct) && construct.cfnResourceType === 'AWS::Lambda::Function';
    if (isFunction && !(construct instanceof lambda.CfnFunction && construct.vpcConfig !== undefined)) {
      acknowledgeGuard(construct, {
        rule: 'lambda_inside_vpc_check',
        reason:
          'Outside the runner VPC on purpose: the stack\'s functions (and the CDK\'s custom-resource handlers) run only platform code, never repository or model-written code, and call AWS APIs and, for the token broker, GitHub\'s API; the isolated runner VPC could reach those only through more endpoints or a NAT gateway.',
      });
    }
  }
}
