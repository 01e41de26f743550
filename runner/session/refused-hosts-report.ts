import { reportRefusedHosts, type RefusedHost } from '../../core/egress';
import { refusedHosts } from '../egress/access-log-reader';
import { runTrafficWindow } from '../egress/egress-settings';
import { runnerMetricNames } from '../metrics';
import type { RunContext } from './run-context';
import type { RunProxy } from './prepared-run';

/**
 * The hosts the proxy refused during this run, into the run's events (once) and the EgressBlocked
 * metric. Reporting is for reviewers: a log that cannot be read is logged and noted, never fatal.
 */
export class RefusedHostsReport {
  private collected: Promise<RefusedHost[]> | undefined;

  constructor(private readonly ctx: RunContext) {}

  /** Collected once, the first time it is asked for (after the tools' last network use). */
  collect(proxy: RunProxy | undefined): Promise<RefusedHost[]> {
    this.collected ??= this.read(proxy);
    return this.collected;
  }

  private async read(proxy: RunProxy | undefined): Promise<RefusedHost[]> {
    const { ctx } = this;
    const egress = ctx.deps.egress;
    if (!egress || !proxy || !ctx.hasRun) return [];
    if (!egress.accessLog) {
      await ctx.emit(
        'note',
        'egress: no proxy access log is configured (NIGHTSHIFT_PROXY_LOG_GROUP / NIGHTSHIFT_PROXY_ACCESS_LOG), so refused hosts are not reported',
        {},
      );
      return [];
    }
    try {
      const hosts = await refusedHosts(egress.accessLog, runTrafficWindow(egress, proxy, ctx.startedAt, ctx.now()));
      await reportRefusedHosts(ctx.deps.events, ctx.run.runId, hosts);
      const count = hosts.reduce((n, h) => n + h.count, 0);
      if (count > 0) ctx.metrics.emit({ [runnerMetricNames.egressBlocked]: count });
      return hosts;
    } catch (err) {
      const message = ctx.redactor.redact((err as Error).message);
      ctx.log.error('could not read the refused hosts', { error: message });
      await ctx.emit('note', `egress: could not read the proxy's refused hosts: ${message}`, {});
      return [];
    }
  }
}
