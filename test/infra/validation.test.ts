import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { createApp } from '../../infra/create-app';
import { GUARD_PLUGIN } from '../../infra/constructs/nag';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * CloudFormation validation as `cdk synth` runs it: createApp (the factory infra/app.ts calls) with
 * no plugin added by the test, so what is checked here is what runs at synth. The CDK's built-in
 * rules are made blocking as cdk.json does; cfn-guard (AWS Control Tower proactive controls) runs
 * with no rule disabled, every accepted finding acknowledged on its own resource.
 */
type Violation = { ruleName: string; violatingConstructs: { constructPath: string }[] };
type Suppressed = Violation & { reason?: string; acknowledgedAt?: string };
type PluginReport = { pluginName: string; conclusion: string; violations: Violation[]; suppressedViolations?: Suppressed[] };

const runnerImage = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim');

function withValidation<T>(body: () => T): T {
  const previous = process.env.CDK_VALIDATION;
  delete process.env.CDK_VALIDATION;
  try {
    return body();
  } finally {
    if (previous !== undefined) process.env.CDK_VALIDATION = previous;
  }
}

test('Given the app with validation on, When cdk synth runs the CDK default rules and cfn-guard, Then it passes, and every guard finding is acknowledged on its own resource with a specific reason', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'nightshift-validate-'));
  try {
    const { app, stack } = createApp({
      config: testConfig(stackFixture),
      appProps: { outdir, context: { '@aws-cdk/core:validateAgainstDefaultRules': true } },
    });
    // A violation of any plugin fails synth with the report.
    withValidation(() => app.synth());
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: PluginReport[] };
    const byPlugin = Object.fromEntries(report.pluginReports.map((r) => [r.pluginName, r]));
    // A plugin appears in the report when it has findings (kept or acknowledged).
    expect(Object.keys(byPlugin)).toEqual(expect.arrayContaining(['CloudFormation Validate', GUARD_PLUGIN]));
    for (const r of report.pluginReports)
      expect({ plugin: r.pluginName, conclusion: r.conclusion, violations: r.violations }).toEqual({
        plugin: r.pluginName,
        conclusion: 'success',
        violations: [],
      });

    const acknowledged = byPlugin[GUARD_PLUGIN]!.suppressedViolations ?? [];
    expect(acknowledged.length).toBeGreaterThan(10);
    for (const finding of acknowledged) {
      const at = finding.acknowledgedAt ?? '';
      // On the resource or the construct that owns it: never the app, the stack or a whole construct tree.
      expect({ rule: finding.ruleName, at, broad: at === '' || at === stack.node.path || at.split('/').length < 3 }).toEqual({
        rule: finding.ruleName,
        at,
        broad: false,
      });
      for (const c of finding.violatingConstructs) expect(c.constructPath === at || c.constructPath.startsWith(`${at}/`)).toBe(true);
      expect((finding.reason ?? '').length).toBeGreaterThanOrEqual(40);
    }
    // Each function outside the VPC says what it calls: the four that call GitHub's API say so, every other says AWS APIs only.
    const githubCallers = [
      stack.tokenBroker.function,
      stack.githubWebhook!.function,
      stack.githubWebhook!.tokenBroker,
      stack.branchFacts.function,
    ].map((f) => f.node.path);
    const outsideVpc = acknowledged.filter((f) => f.ruleName === 'lambda_inside_vpc_check');
    const saysGithub = outsideVpc
      .filter((f) => /GitHub's API/.test(f.reason ?? ''))
      .map((f) => githubCallers.find((p) => (f.acknowledgedAt ?? '').startsWith(`${p}/`)));
    expect(saysGithub.sort()).toEqual([...githubCallers].sort());
    for (const f of outsideVpc) if (!/GitHub's API/.test(f.reason ?? '')) expect(f.reason).toMatch(/calls AWS APIs only/);
    // Fixed rather than acknowledged: the alarm key's policy limits grants to AWS services.
    expect(acknowledged.map((f) => f.ruleName)).not.toContain('kms_create_grant_aws_service_check');
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}, 300_000);

test('Given a resource added without its own acknowledgement, When cdk synth runs, Then it fails naming that resource, even where another resource acknowledges the same rule', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'nightshift-validate-'));
  try {
    // Lambda bundling skipped: only the template matters here.
    const { app, stack } = createApp({
      config: testConfig(stackFixture),
      nag: false,
      runnerImage,
      appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
    });
    new sqs.Queue(stack, 'UnacknowledgedQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(1),
    });
    new s3.Bucket(stack, 'UnacknowledgedBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    let message = '';
    withValidation(() => {
      try {
        app.synth();
      } catch (err) {
        message = (err as Error).message;
      }
    });
    expect(message).toMatch(/sqs_dlq_check/);
    expect(message).toMatch(/s3_bucket_versioning_enabled_check/);
    expect(message).toContain('Nightshift/UnacknowledgedQueue');
    expect(message).toContain('Nightshift/UnacknowledgedBucket');
    // The stack's own acknowledged resources are not among the violations.
    expect(message).not.toContain('Nightshift/State/Traces/Resource');
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}, 300_000);
