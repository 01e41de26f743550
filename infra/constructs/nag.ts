import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

export interface NagAcknowledgement {
  /** The cdk-nag finding, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  /** Why this exact finding is acceptable here. */
  readonly reason: string;
}

/**
 * Acknowledges findings on the policy of whoever was granted (the role, so the acknowledgement
 * covers its default policy and nothing else in the stack).
 */
export function acknowledgeOnPrincipal(grantee: iam.IGrantable, ...acknowledgements: NagAcknowledgement[]): void {
  const principal = grantee.grantPrincipal;
  if (!(principal instanceof Construct)) throw new Error('cannot acknowledge a finding on a principal that is not a construct of this app');
  Validations.of(principal).acknowledge(...acknowledgements);
}

/** `<LogicalId.Arn>` as cdk-nag renders a GetAtt in a finding id. */
export function nagArnOf(construct: IConstruct, attribute = 'Arn'): string {
  return `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement)}.${attribute}>`;
}

/** `<LogicalId>` as cdk-nag renders a Ref in a finding id. */
export function nagRefOf(construct: IConstruct): string {
  return `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement)}>`;
}

/** The cfn-guard validation plugin's name: the namespace of its rule ids in an acknowledgement. */
export const GUARD_PLUGIN = 'cdk-validator-cfnguard';

export interface GuardAcknowledgement {
  /** The cfn-guard rule name, e.g. `s3_bucket_versioning_enabled_check` (the report's ruleName). */
  readonly rule: string;
  /** Why this exact finding is acceptable for this resource. */
  readonly reason: string;
}

/**
 * Acknowledges cfn-guard (Control Tower) findings on one construct: the acknowledgement covers that
 * resource (and its children), never the rule for the whole app.
 */
export function acknowledgeGuard(construct: IConstruct, ...acknowledgements: GuardAcknowledgement[]): void {
  Validations.of(construct).acknowledge(...acknowledgements.map((a) => ({ id: `${GUARD_PLUGIN}::${a.rule}`, reason: a.reason })));
}
