import * as z from 'zod';
import { HANDLER_ENTRY_METADATA } from './state-machine/template';
import type { SynthesizedTemplate } from './synthesized-stack';

/** One route of the HTTP API as the template deploys it: `POST /v1/runs` → `lambdas/api/submit-run.ts`. */
export interface TemplateRoute {
  routeKey: string;
  /** The function's logical id (its name in local logs). */
  functionId: string;
  entry: string;
}

const RouteProps = z.object({ RouteKey: z.string(), Target: z.unknown() }).passthrough();
const IntegrationProps = z.object({ IntegrationUri: z.unknown() }).passthrough();
const RefTarget = z.object({ 'Fn::Join': z.tuple([z.literal(''), z.tuple([z.literal('integrations/'), z.object({ Ref: z.string() })])]) });
const GetAttArn = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('Arn')]) });

/**
 * Reads the HTTP API's routes out of the synthesized template: route → Lambda integration → function
 * → its handler module (the `nightshift:entry` metadata), so local mode serves exactly the deployed routes.
 */
export function routesFromTemplate(template: SynthesizedTemplate): TemplateRoute[] {
  const resources = template.Resources;
  const routes: TemplateRoute[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::ApiGatewayV2::Route') continue;
    const props = RouteProps.parse(resource.Properties);
    const target = RefTarget.safeParse(props.Target);
    if (!target.success) throw new Error(`route ${id} (${props.RouteKey}) has a target local mode cannot follow`);
    const integrationId = target.data['Fn::Join'][1][1].Ref;
    const integration = resources[integrationId];
    if (!integration || integration.Type !== 'AWS::ApiGatewayV2::Integration')
      throw new Error(`route ${props.RouteKey}: integration ${integrationId} not found`);
    const uri = GetAttArn.safeParse(IntegrationProps.parse(integration.Properties).IntegrationUri);
    if (!uri.success) throw new Error(`route ${props.RouteKey}: integration ${integrationId} is not a Lambda function of this stack`);
    const functionId = uri.data['Fn::GetAtt'][0];
    const fn = resources[functionId];
    const entry = z.record(z.string(), z.unknown()).optional().parse(fn?.Metadata)?.[HANDLER_ENTRY_METADATA];
    if (typeof entry !== 'string')
      throw new Error(`route ${props.RouteKey}: function ${functionId} has no ${HANDLER_ENTRY_METADATA} metadata`);
    routes.push({ routeKey: props.RouteKey, functionId, entry });
  }
  return routes.sort((a, b) => a.routeKey.localeCompare(b.routeKey));
}
