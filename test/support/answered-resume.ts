import type { RunResume } from '../../core/inbox/pause-report';

/**
 * The `resume` a run carries once the question it paused on was answered "yes" at `answeredAt`: its
 * second task restores the checkpoint. A run with it is a resumed run, not a new one.
 */
export function answeredResume(answeredAt: string): RunResume {
  return {
    itemId: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    reason: 'question',
    checkpoint: 'file:///c.json',
    answer: 'yes',
    answeredAt,
    segment: 2,
  };
}
