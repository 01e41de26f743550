import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { createApp } from '../../infra/create-app';
import { testConfig } from './synth';

/**
 * The one test that runs CloudFormation validation over the synthesized template: the CDK's built-in
 * validator with its default rules made blocking (as cdk.json sets it for `cdk synth`), and the
 * cfn-guard validator (AWS Control Tower proactive controls, run offline by its bundled binary).
 */
/** Control Tower controls this design departs from (by rule file name), each with why. */
const disabledGuardRules: Record<string, string> = {
  'ct-cloudwatch-pr-2': 'Logs are kept 30 days on purpose: run logs can quote repository content, and traces follow the same 30-day rule (SPEC §5).',
  'ct-cloudwatch-pr-3': 'Log groups use CloudWatch Logs service encryption; a customer-managed KMS key per log group is an account-level choice Nightshift leaves to the operator.',
  'ct-lambda-pr-3': 'The Lambdas only call AWS APIs (DynamoDB, Step Functions, ECS, Secrets Manager); putting them in the isolated runner VPC would add endpoints and cold-start cost for no reachability gain.',
  'ct-lambda-pr-2': 'The only function policies are API Gateway and EventBridge invoke permissions with a SourceArn of this stack; the rule does not read SourceArn conditions.',
  'ct-ecs-pr-3': 'The runner starts as root only to run every tool command as the unprivileged tool user (runner/isolation) and drops every other capability; the egress proxy (squid) drops to its own user itself.',
  'ct-ecs-pr-6': 'The egress proxy (squid) writes its cache and pid under its own filesystem; the runner container is read-only (asserted in stack.test.ts).',
  'ct-ecs-pr-2': 'The egress proxy cluster runs one small service; its metrics come from the proxy log and the Nightshift dashboard.',
  'ct-ecs-pr-9': 'The egress proxy is the one component with internet egress: it sits in a public subnet by design (infra/constructs/network.ts), behind a security group open only to the runners.',
  'ct-kms-pr-3': 'The alarm topic key is used by CloudWatch and SNS through their service principals only.',
  'ct-s3-pr-10': 'Buckets use S3-managed encryption (SSE-S3); traces are redacted before upload and a KMS key would add per-request cost.',
  'ct-s3-pr-11': 'Traces and access logs are write-once and expire by lifecycle; versions would keep deleted traces past their 30 days.',
  'ct-s3-pr-9': 'Object Lock would stop the 30-day expiry the trace bucket exists to enforce.',
  'ct-s3-pr-4': 'Nothing consumes trace-bucket events; a notification target would only add cost.',
  'ct-s3-pr-2': 'The flagged bucket is the access-log bucket itself; logging it into itself would loop.',
  'ct-s3-pr-5': 'The access-log bucket grants S3 log delivery through its LogDeliveryWrite ACL, the mechanism S3 server access logging uses here.',
  'ct-ecs-pr-7': 'Flags the egress proxy task (network construct, one container that may use the task memory); the runner container has its hard limit (asserted in stack.test.ts).',
  'ct-sqs-pr-1': 'The flagged queues are themselves dead-letter queues (backstop, schedules, monitoring).',
};

test('the synthesized template passes the CDK default rules and cfn-guard', () => {
  delete process.env.CDK_VALIDATION;
  const outdir = mkdtempSync(join(tmpdir(), 'nightshift-validate-'));
  const { app } = createApp({ config: testConfig(), appProps: { outdir, context: { '@aws-cdk/core:validateAgainstDefaultRules': true } } });
  Validations.of(app).addPlugins(new CfnGuardValidator({ disabledRules: Object.keys(disabledGuardRules) }));
  // A violation of either fails synth with the report.
  app.synth();
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[] };
  const byPlugin = Object.fromEntries(report.pluginReports.map((r) => [r.pluginName, { conclusion: r.conclusion, violations: r.violations }]));
  // A plugin appears in the report when it has findings (kept or acknowledged); a violation of any plugin throws above.
  expect(Object.keys(byPlugin)).toContain('CloudFormation Validate');
  for (const [plugin, result] of Object.entries(byPlugin)) expect({ plugin, ...result }).toEqual({ plugin, conclusion: 'success', violations: [] });
  rmSync(outdir, { recursive: true, force: true });
}, 240_000);
