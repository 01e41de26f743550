import * as z from 'zod';

/**
 * Reads the run state machine out of a synthesized CloudFormation template: its definition with every
 * intrinsic resolved to a stable local value, which Lambda function (by handler module) each Lambda
 * ARN in it stands for, and the EventBridge rules that react to its executions. Nothing is hand-written:
 * what runs offline is what `cdk synth` produced.
 */

/** Template metadata naming a function's handler module (infra/constructs/lambda-defaults.ts). */
export const HANDLER_ENTRY_METADATA = 'nightshift:entry';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

const Resource = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
});
export const CloudFormationTemplate = z.object({ Resources: z.record(z.string(), Resource) });
export type CloudFormationTemplate = z.infer<typeof CloudFormationTemplate>;

export interface StatusChangeRule {
  logicalId: string;
  /** The rule's EventPattern, intrinsics resolved. */
  pattern: Record<string, unknown>;
  /** Handler modules of the rule's Lambda targets. */
  targetEntries: string[];
}

export interface ExtractedStateMachine {
  logicalId: string;
  stateMachineArn: string;
  stateMachineName: string;
  definition: Record<string, unknown>;
  /** Lambda function ARN, as it appears in the resolved definition → handler module. */
  lambdaEntries: Map<string, string>;
  statusChangeRules: StatusChangeRule[];
}

function localArn(type: string, logicalId: string): string | undefined {
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`;
    case 'AWS::ECS::Cluster':
      return `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:cluster/${logicalId}`;
    case 'AWS::ECS::TaskDefinition':
      return `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:task-definition/${logicalId}:1`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
    default:
      return undefined;
  }
}

const pseudoParameters: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Nightshift',
};

/** Resolves Ref, Fn::GetAtt and Fn::Join to local values; anything else is refused loudly. */
export function resolveIntrinsics(value: unknown, template: CloudFormationTemplate): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, template));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, arg] = entries[0]!;
    if (key === 'Ref') {
      const name = z.string().parse(arg);
      if (name in pseudoParameters) return pseudoParameters[name];
      const resource = template.Resources[name];
      if (!resource) throw new Error(`Ref to unknown resource ${name}`);
      return localArn(resource.Type, name) ?? name;
    }
    if (key === 'Fn::GetAtt') {
      const [name, attribute] = z.tuple([z.string(), z.string()]).parse(arg);
      const resource = template.Resources[name];
      if (!resource) throw new Error(`Fn::GetAtt of unknown resource ${name}`);
      if (attribute === 'Arn') return localArn(resource.Type, name) ?? `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
      if (attribute === 'Name') return name;
      return `${name}.${attribute}`;
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = z.tuple([z.string(), z.array(z.unknown())]).parse(arg);
      return parts.map((p) => z.string().parse(resolveIntrinsics(p, template))).join(separator);
    }
    if (key.startsWith('Fn::')) throw new Error(`intrinsic ${key} is not supported offline`);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, template)]));
}

/** The state machine of the template (the only one, or the one named by `logicalId`). */
export function extractStateMachine(templateJson: unknown, options: { logicalId?: string } = {}): ExtractedStateMachine {
  const template = CloudFormationTemplate.parse(templateJson);
  const machines = Object.entries(template.Resources).filter(
    ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && (!options.logicalId || id === options.logicalId),
  );
  if (machines.length !== 1) throw new Error(`expected one state machine in the template, found ${machines.length}`);
  const [logicalId, machine] = machines[0]!;
  const definitionString = resolveIntrinsics(machine.Properties?.DefinitionString, template);
  if (typeof definitionString !== 'string') throw new Error(`state machine ${logicalId} has no DefinitionString`);
  const definition = z.record(z.string(), z.unknown()).parse(JSON.parse(definitionString));

  const lambdaEntries = new Map<string, string>();
  const entryOf = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    const entry = resource.Metadata?.[HANDLER_ENTRY_METADATA];
    if (resource.Type === 'AWS::Lambda::Function' && typeof entry === 'string') {
      lambdaEntries.set(localArn(resource.Type, id)!, entry);
      entryOf.set(id, entry);
    }
  }

  const stateMachineArn = localArn(machine.Type, logicalId)!;
  const statusChangeRules: StatusChangeRule[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const pattern = z.record(z.string(), z.unknown()).safeParse(resolveIntrinsics(resource.Properties?.EventPattern ?? null, template));
    if (!pattern.success || !JSON.stringify(pattern.data).includes(JSON.stringify(stateMachineArn))) continue;
    const targets = z.array(z.object({ Arn: z.unknown() }).passthrough()).parse(resource.Properties?.Targets ?? []);
    const targetEntries = targets.map((t) => {
      const arn = resolveIntrinsics(t.Arn, template);
      const entry = typeof arn === 'string' ? lambdaEntries.get(arn) : undefined;
      if (!entry) throw new Error(`rule ${id} targets ${JSON.stringify(t.Arn)}, which is not a Lambda function with a handler entry`);
      return entry;
    });
    statusChangeRules.push({ logicalId: id, pattern: pattern.data, targetEntries });
  }

  return { logicalId, stateMachineArn, stateMachineName: logicalId, definition, lambdaEntries, statusChangeRules };
}
