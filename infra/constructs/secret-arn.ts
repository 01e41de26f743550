import { ArnFormat, type Stack } from 'aws-cdk-lib';

/** The ARN of Secrets Manager secret `name` in `stack`'s account and region, whatever suffix it was given. */
export function secretArn(stack: Stack, name: string): string {
  // Secrets Manager appends a random six-character suffix to every secret ARN.
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${name}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
