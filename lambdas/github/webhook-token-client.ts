import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { WebhookTokenResponse, type WebhookTokenRequest } from './webhook-token-contract';

/** One synchronous call of the webhook token broker. The answer holds a token: never logged. */
export async function requestWebhookToken(
  client: LambdaClient,
  functionName: string,
  request: WebhookTokenRequest,
): Promise<WebhookTokenResponse> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) {
    // The error payload names the refusal; it never carries a token.
    const message = /"errorMessage"\s*:\s*"([^"]{0,300})/.exec(text)?.[1] ?? out.FunctionError;
    throw new Error(`the webhook token broker refused: ${message}`);
  }
  return WebhookTokenResponse.parse(JSON.parse(text));
}
