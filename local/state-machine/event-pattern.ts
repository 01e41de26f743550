/**
 * EventBridge event-pattern matching for the patterns Nightshift's rules use: nested objects whose
 * leaves are arrays of exact values (any one matches). Content filters (prefix, numeric, exists, ...)
 * are refused rather than guessed.
 */
export function matchesEventPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  for (const [key, expected] of Object.entries(pattern)) {
    const actual = event[key];
    if (Array.isArray(expected)) {
      if (expected.some((v) => v !== null && typeof v === 'object'))
        throw new Error(`event pattern content filters are not supported offline (${key})`);
      const values = Array.isArray(actual) ? actual : [actual];
      if (!values.some((v) => expected.includes(v))) return false;
    } else if (expected !== null && typeof expected === 'object') {
      if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
      if (!matchesEventPattern(expected as Record<string, unknown>, actual as Record<string, unknown>)) return false;
    } else {
      throw new Error(`event pattern field ${key} must be an array or an object`);
    }
  }
  return true;
}
