/**
 * Regional AWS API hosts the runner calls through the egress proxy. DynamoDB and S3 are reached
 * through gateway endpoints and CloudWatch Logs / ECR through interface endpoints, so they are not
 * on the proxy's allowlist and must be in the runner's NO_PROXY (see `runnerNoProxyHosts`).
 */
export function awsProxiedHosts(region: string): string[] {
  assertRegion(region);
  // Repo secrets come from the token broker (which checks the run's repo), never from Secrets Manager directly.
  return [
    `bedrock-runtime.${region}.amazonaws.com`, // Converse
    `states.${region}.amazonaws.com`, // SendTaskSuccess / Failure / Heartbeat
    `lambda.${region}.amazonaws.com`, // token broker Invoke
    `sts.${region}.amazonaws.com`, // regional STS for the SDK's credential chain when it needs it
  ];
}

/** Hosts the runner's own SDK clients reach without the proxy (VPC endpoints). */
export function runnerNoProxyHosts(region: string): string[] {
  assertRegion(region);
  return [
    `dynamodb.${region}.amazonaws.com`,
    `s3.${region}.amazonaws.com`,
    `.s3.${region}.amazonaws.com`,
    `logs.${region}.amazonaws.com`,
    '169.254.170.2', // the ECS task credentials endpoint (link-local, never through a proxy)
  ];
}

function assertRegion(region: string): void {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`not an AWS region: ${JSON.stringify(region)}`);
}
