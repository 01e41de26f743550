import type { MetricRecord } from '../../core/metrics/catalog';
import type { MetricsSink } from '../../core/metrics/emf';
import { validateMetricRecord } from '../../core/metrics/catalog';

/** A sink that keeps what it is given (after the same catalog check the real sinks make). */
export function listSink(): MetricsSink & { records: MetricRecord[] } {
  const records: MetricRecord[] = [];
  return {
    records,
    emit(record) {
      validateMetricRecord({ name: record.name, value: record.value, dimensions: record.dimensions as Record<string, string> });
      records.push(record as MetricRecord);
    },
  };
}

/** A logger double that keeps its lines (the handlers' structured attributes are part of what is checked). */
export function listLog() {
  const lines: { level: 'info' | 'warn'; message: string; attributes: Record<string, unknown> }[] = [];
  return {
    lines,
    info(message: string, attributes: Record<string, unknown> = {}) {
      lines.push({ level: 'info', message, attributes });
    },
    warn(message: string, attributes: Record<string, unknown> = {}) {
      lines.push({ level: 'warn', message, attributes });
    },
  };
}
