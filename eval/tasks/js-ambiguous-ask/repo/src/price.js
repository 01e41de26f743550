'use strict';

/** A price in cents as the shop shows it. */
function formatPrice(cents) {
  const dollars = Math.floor(cents / 100);
  const rest = String(cents % 100).padStart(2, '0');
  return `$${dollars.toLocaleString('en-US')}.${rest}`;
}

module.exports = { formatPrice };
