import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { State } from '../../infra/constructs/state';
import { RUN_INDEX_FINAL_STAGE, runIndexStage, runIndexStageFromContext } from '../../infra/run-index-stages';
import { runsIndexes, runsListIndexes } from '../../adapters/dynamodb/tables';

interface Gsi {
  IndexName: string;
  KeySchema: { AttributeName: string; KeyType: string }[];
  Projection: { ProjectionType: string };
}

/** The runs table's GSIs and the list readers' environment, as CloudFormation gets them at a stage. */
function synthesize(stage: number): { indexes: Map<string, string>; reads: string[] } {
  const stack = new Stack(new App(), `Stage${stage}`);
  const state = new State(stack, 'State', { traceRetentionDays: 30, runIndexStage: runIndexStage(stage) });
  const template = Template.fromStack(stack);
  const tables = Object.entries(template.findResources('AWS::DynamoDB::Table')) as [
    string,
    { Properties: { GlobalSecondaryIndexes?: Gsi[] } },
  ][];
  const runsId = stack.getLogicalId(state.runs.node.defaultChild as never);
  const runs = tables.find(([id]) => id === runsId)?.[1];
  const indexes = new Map(
    (runs?.Properties.GlobalSecondaryIndexes ?? []).map((gsi) => [gsi.IndexName, JSON.stringify([gsi.KeySchema, gsi.Projection])]),
  );
  return { indexes, reads: [state.runListEnvironment.RUNS_LIST_INDEXES] };
}

describe('the staged upgrade of the runs indexes', () => {
  const stages = Array.from({ length: RUN_INDEX_FINAL_STAGE + 1 }, (_, stage) => ({ stage, ...synthesize(stage) }));

  it('Given every stage, Then the first has the legacy ALL indexes and the last the eight KEYS_ONLY list indexes', () => {
    expect([...stages[0].indexes.keys()].sort()).toEqual(
      Object.values(runsIndexes)
        .map((index) => index.name)
        .sort(),
    );
    const last = stages[RUN_INDEX_FINAL_STAGE];
    expect([...last.indexes.keys()].sort()).toEqual(
      Object.values(runsListIndexes)
        .map((index) => index.name)
        .sort(),
    );
    for (const definition of last.indexes.values()) expect(JSON.parse(definition)[1]).toEqual({ ProjectionType: 'KEYS_ONLY' });
    // 8 list indexes beside at most 4 legacy ones: within DynamoDB's 20 GSIs per table at every stage
    for (const { indexes } of stages) expect(indexes.size).toBeLessThanOrEqual(12);
  });

  it('Given consecutive stages, Then each changes exactly one GSI (an add or a remove, never a changed one), except the one that switches reads', () => {
    for (let i = 1; i < stages.length; i += 1) {
      const before = stages[i - 1].indexes;
      const after = stages[i].indexes;
      const added = [...after.keys()].filter((name) => !before.has(name));
      const removed = [...before.keys()].filter((name) => !after.has(name));
      const changed = [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name));
      expect({ stage: i, changed }).toEqual({ stage: i, changed: [] });
      const switchesReads = stages[i - 1].reads[0] !== stages[i].reads[0];
      expect({ stage: i, changes: added.length + removed.length }).toEqual({ stage: i, changes: switchesReads ? 0 : 1 });
    }
  });

  it('Given the stages, Then the list readers switch to the list indexes only once all of them exist, and before any legacy index goes', () => {
    for (const { stage, indexes, reads } of stages) {
      const allList = Object.values(runsListIndexes).every((index) => indexes.has(index.name));
      const allLegacy = Object.values(runsIndexes).every((index) => indexes.has(index.name));
      if (reads[0] === 'keys') expect({ stage, allList }).toEqual({ stage, allList: true });
      else expect({ stage, allLegacy }).toEqual({ stage, allLegacy: true });
    }
    expect(stages.filter(({ reads }) => reads[0] === 'legacy').length).toBe(9);
  });

  it('Given CDK context, When the stage is read, Then it is the one given, the final one when none is given, and anything else is refused', () => {
    expect(runIndexStageFromContext(undefined).stage).toBe(RUN_INDEX_FINAL_STAGE);
    expect(runIndexStageFromContext('3').stage).toBe(3);
    expect(runIndexStageFromContext(5).stage).toBe(5);
    for (const bad of ['x', '-1', String(RUN_INDEX_FINAL_STAGE + 1), 1.5, ''])
      expect(() => runIndexStageFromContext(bad)).toThrow(/runIndexStage/);
  });
});
