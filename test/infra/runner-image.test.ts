import { readFileSync } from 'node:fs';
import { App, Stack, cx_api } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { parseConfig } from '../../core/config/load';
import { runnerImageFromSource } from '../../infra/constructs/agent-runtime';
import { stackFixture, testConfig } from '../support/test-config';

/** The Docker image assets one synthesized stack asks the CDK CLI to build: Dockerfile and target stage. */
function dockerBuilds(image: ecs.ContainerImage): { dockerFile?: string; dockerBuildTarget?: string }[] {
  const app = new App();
  const stack = new Stack(app, 'RunnerImage');
  new ecs.FargateTaskDefinition(stack, 'Task').addContainer('runner', { image, memoryLimitMiB: 512 });
  const assembly = app.synth();
  const manifests = assembly.artifacts.filter((a): a is cx_api.AssetManifestArtifact => a instanceof cx_api.AssetManifestArtifact);
  return manifests.flatMap((m) => {
    const parsed = JSON.parse(readFileSync(m.file, 'utf8')) as {
      dockerImages?: Record<string, { source: { dockerFile?: string; dockerBuildTarget?: string } }>;
    };
    return Object.values(parsed.dockerImages ?? {}).map((d) => d.source);
  });
}

describe('the runner image (runner/Dockerfile targets)', () => {
  test('Given no choice, When the config is read, Then the full image (with the C/C++ toolchain) is chosen', () => {
    expect(testConfig(stackFixture).model.fargate.image).toBe('full');
  });

  test.each(['full', 'slim'] as const)(
    'Given fargate.image %s, When the stack is synthesized, Then the CLI builds that stage of runner/Dockerfile',
    (target) => {
      expect(
        dockerBuilds(runnerImageFromSource(target)).map(({ dockerFile, dockerBuildTarget }) => ({ dockerFile, dockerBuildTarget })),
      ).toEqual([{ dockerFile: 'runner/Dockerfile', dockerBuildTarget: target }]);
    },
  );

  test('Given an image that is not a target, When the config is read, Then it is refused with the choices', () => {
    const config = testConfig(stackFixture);
    expect(() => parseConfig({ ...config, model: { ...config.model, fargate: { ...config.model.fargate, image: 'alpine' } } })).toThrow(
      /full.*slim|slim.*full/,
    );
  });

  test('Given runner/Dockerfile, Then slim leaves the C/C++ toolchain and headers to full, and full comes last so a plain docker build still gives it', () => {
    const dockerfile = readFileSync('runner/Dockerfile', 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => ({ name: m[1]!, at: m.index }));
    expect(stages.map((s) => s.name).slice(-2)).toEqual(['slim', 'full']);
    const text = (name: string) => {
      const i = stages.findIndex((s) => s.name === name);
      return dockerfile.slice(stages[i]!.at, stages[i + 1]?.at ?? dockerfile.length).replace(/^#.*$/gm, '');
    };
    expect(text('slim')).not.toMatch(/\b(g\+\+|make|include)\b/);
    expect(text('full')).toMatch(/^FROM slim AS full$/m);
    expect(text('full')).toMatch(/install -y --no-install-recommends make g\+\+/);
    expect(text('full')).toMatch(/\/usr\/local\/include\//);
  });
});
