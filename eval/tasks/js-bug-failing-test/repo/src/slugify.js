'use strict';

/** Turns a title into a URL slug: lowercase ASCII words joined by single dashes. */
function slugify(title) {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .replace(/^-|-$/g, '');
}

module.exports = { slugify };
