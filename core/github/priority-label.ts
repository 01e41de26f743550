import type { RunPriority } from '../runs/schemas';

/**
 * A run's priority from its issue's labels: `<triggerLabel>:high` (for example `nightshift:high`) or
 * `<triggerLabel>:low` beside the trigger label; high wins when both are there; neither: none (normal).
 * Matched case-insensitively, like the trigger label.
 */
export function priorityOfLabels(labels: readonly string[], triggerLabel: string): RunPriority | undefined {
  const names = new Set(labels.map((l) => l.toLowerCase()));
  const prefix = triggerLabel.toLowerCase();
  if (names.has(`${prefix}:high`)) return 'high';
  if (names.has(`${prefix}:low`)) return 'low';
  return undefined;
}
