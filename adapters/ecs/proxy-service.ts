import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ProxyServicePort, ProxyServiceState } from '../../core/egress/proxy-demand';

/** Where the proxy's ECS service is: the names the stack hands the functions that start and stop it. */
export interface ProxyServiceTarget {
  cluster: string;
  service: string;
}

/** The environment variables that name the proxy's service; set only with `network.proxy: "on-demand"`. */
export const PROXY_SERVICE_ENV = { cluster: 'EGRESS_PROXY_CLUSTER', service: 'EGRESS_PROXY_SERVICE' } as const;

/** The on-demand proxy's service from the environment, or undefined when the proxy is always on. */
export function proxyServiceTargetFromEnv(env: NodeJS.ProcessEnv = process.env): ProxyServiceTarget | undefined {
  const cluster = env[PROXY_SERVICE_ENV.cluster];
  const service = env[PROXY_SERVICE_ENV.service];
  if (!cluster && !service) return undefined;
  if (!cluster || !service) throw new Error(`${PROXY_SERVICE_ENV.cluster} and ${PROXY_SERVICE_ENV.service} are set together or not at all`);
  return { cluster, service };
}

/**
 * The egress proxy's ECS service as the on-demand proxy uses it (core/egress/proxy-demand.ts):
 * DescribeServices for its counts, UpdateService for its desired count. The ECS SDK is loaded on the
 * first call, so a function that never needs it (the proxy always on) does not load it at init.
 */
export function createEcsProxyService(target: ProxyServiceTarget, client?: () => Promise<ECSClient>): ProxyServicePort {
  let loaded: Promise<{ ecs: ECSClient; sdk: typeof import('@aws-sdk/client-ecs') }> | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-ecs').then(async (sdk) => ({ ecs: client ? await client() : new sdk.ECSClient({}), sdk })));
  return {
    async describe(): Promise<ProxyServiceState> {
      const { ecs, sdk } = await load();
      const { services, failures } = await ecs.send(
        new sdk.DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }),
      );
      const found = services?.[0];
      if (!found || found.status === 'INACTIVE') {
        const reason = failures?.[0]?.reason ?? found?.status ?? 'not found';
        throw new Error(`the egress proxy service ${target.service} in ${target.cluster} cannot be described: ${reason}`);
      }
      return { desiredCount: found.desiredCount ?? 0, runningCount: found.runningCount ?? 0 };
    },
    async scaleTo(desiredCount: 0 | 1): Promise<void> {
      const { ecs, sdk } = await load();
      await ecs.send(new sdk.UpdateServiceCommand({ cluster: target.cluster, service: target.service, desiredCount }));
    },
  };
}
