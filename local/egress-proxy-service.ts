import type { ProxyServicePort, ProxyServiceState } from '../core/egress/proxy-demand';
import { startEgressProxy, type EgressProxyOptions, type LocalEgressProxy } from './egress-proxy';
import type { LocalLog } from './local-log';

/** The names local mode gives the proxy's service (EGRESS_PROXY_CLUSTER, EGRESS_PROXY_SERVICE of the handlers). */
export const LOCAL_PROXY_SERVICE = { cluster: 'nightshift-local', service: 'egress-proxy' } as const;

/**
 * The local squid as an ECS service with a desired count of 0 or 1, for `network.proxy: "on-demand"`
 * (docs/network.md#on-demand-proxy): local mode's ECS endpoint answers DescribeServices and
 * UpdateService from it, so Admit starts it through the same ECS call it makes on AWS, and the queue
 * sweep stops it once idle (core/egress/proxy-demand.ts). As on ECS, setting the count returns at
 * once and the service converges behind it: squid restarts on the same ports with the same runner
 * credential, so a runner started meanwhile waits for it and needs nothing new.
 */
export class LocalProxyService implements ProxyServicePort {
  private running: LocalEgressProxy | undefined;
  private desired: 0 | 1 = 1;
  private converging: Promise<void> = Promise.resolve();

  constructor(
    first: LocalEgressProxy,
    private readonly options: EgressProxyOptions & { basePort: number; runnerPassword: string },
    private readonly log: LocalLog,
  ) {
    this.running = first;
  }

  async describe(): Promise<ProxyServiceState> {
    return { desiredCount: this.desired, runningCount: this.running ? 1 : 0 };
  }

  async scaleTo(desiredCount: 0 | 1): Promise<void> {
    this.desired = desiredCount;
    this.converging = this.converging.then(() => this.converge());
  }

  /** Waits until the service matches its desired count (tests, and the platform's stop). */
  async settled(): Promise<void> {
    await this.converging;
  }

  /** Stops squid for good (the platform stops). */
  async stop(): Promise<void> {
    await this.scaleTo(0);
    await this.settled();
  }

  private async converge(): Promise<void> {
    try {
      if (this.desired === 0 && this.running) {
        const stopping = this.running;
        this.running = undefined;
        await stopping.stop();
        this.log.info('on-demand egress proxy stopped', { url: stopping.url });
      } else if (this.desired === 1 && !this.running) {
        this.running = await startEgressProxy(this.options);
        if (this.running) this.log.info('on-demand egress proxy started', { url: this.running.url });
      }
    } catch (error) {
      // As an ECS service whose task fails to start: the count stays unmet, the next call or tick tries again.
      this.log.error('on-demand egress proxy did not converge', { desired: this.desired, error: (error as Error).message });
    }
  }
}
