import { runSimulation } from '@cloud-copilot/iam-simulate';

/**
 * The synthesized template's IAM policies, resolved to concrete ARNs in one made-up account and region,
 * and evaluated with the IAM policy simulator (@cloud-copilot/iam-simulate): what a role may actually
 * do, not what its statements look like. Every intrinsic the policies use is resolved from the
 * resource it names; an intrinsic this does not know fails the test instead of being guessed.
 */
export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

type Resource = { Type: string; Properties?: Record<string, unknown> };
export type Template = { Resources: Record<string, Resource> };
type PolicyDocument = { Version?: string; Statement: unknown[] };

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The ARN (GetAtt Arn) and the Ref value of each resource type the policies name. */
function arnOf(template: Template, id: string): string {
  const type = template.Resources[id]?.Type;
  switch (type) {
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${id.toLowerCase()}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
    case 'AWS::ECS::Cluster':
      return `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${id}`;
    case 'AWS::ECS::Service':
      return `arn:aws:ecs:${REGION}:${ACCOUNT}:service/cluster/${id}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
    default:
      throw new Error(`no ARN known for ${id} (${type ?? 'not in the template'})`);
  }
}

function refOf(template: Template, id: string): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (pseudo[id]) return pseudo[id];
  const type = template.Resources[id]?.Type;
  switch (type) {
    case 'AWS::DynamoDB::Table':
    case 'AWS::Lambda::Function':
    case 'AWS::ECS::Cluster':
    case 'AWS::IAM::Role':
      return id;
    case 'AWS::S3::Bucket':
      return id.toLowerCase();
    case 'AWS::StepFunctions::StateMachine':
    case 'AWS::SNS::Topic':
    case 'AWS::SecretsManager::Secret':
    case 'AWS::ECS::Service':
      return arnOf(template, id);
    default:
      throw new Error(`no Ref value known for ${id} (${type ?? 'not in the template'})`);
  }
}

function resolve(template: Template, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(template, v));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, arg] = entries[0]!;
    if (key === 'Ref') return refOf(template, arg as string);
    if (key === 'Fn::GetAtt') {
      const [id, attribute] = arg as [string, string];
      if (attribute === 'Arn') return arnOf(template, id);
      // Other attributes are identifiers (a name, a security group id) spliced into an ARN: a unique stand-in.
      if (!template.Resources[id]) throw new Error(`GetAtt of ${id}, which is not in the template`);
      return attribute === 'Name' ? id : `${id}-${attribute}`;
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((p) => resolve(template, p) as string).join(separator);
    }
    if (key === 'Fn::Sub') {
      if (typeof arg !== 'string') throw new Error('Fn::Sub with variables is not resolved here');
      return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => refOf(template, name));
    }
    if (key.startsWith('Fn::')) throw new Error(`intrinsic ${key} is not resolved here`);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(template, v)]));
}

/** The logical ids of every IAM role in the template. */
export function rolesOf(template: Template): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(([id]) => id);
}

/** Every identity policy of a role (inline policies on the role, AWS::IAM::Policy resources attached to it), resolved. */
export function identityPoliciesOf(template: Template, roleId: string): { name: string; policy: PolicyDocument }[] {
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  if (
    (role.Properties?.ManagedPolicyArns as unknown[] | undefined)?.some(
      (arn) => !JSON.stringify(arn).includes('AWSLambdaBasicExecutionRole'),
    )
  ) {
    throw new Error(`${roleId} has a managed policy this simulation does not know`);
  }
  const inline = ((role.Properties?.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []).map((p) => ({
    name: p.PolicyName,
    policy: resolve(template, p.PolicyDocument) as PolicyDocument,
  }));
  const attached = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(`"${roleId}"`))
    .map(([id, r]) => ({ name: id, policy: resolve(template, r.Properties!.PolicyDocument) as PolicyDocument }));
  return [...inline, ...attached];
}

export interface SimulatedRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** What the role's identity policies decide for one request (no resource policy: none in this stack grants more). */
export async function decide(template: Template, roleId: string, request: SimulatedRequest): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleId}/session`,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context ?? {},
      },
      identityPolicies: identityPoliciesOf(template, roleId),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`the simulator refused ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single') throw new Error(`expected one result for ${request.action} on ${request.resource}`);
  return result.overallResult as Decision;
}

/** The template's resource of a type whose logical id starts with `prefix` (one, or the test is wrong). */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

export { arnOf };
