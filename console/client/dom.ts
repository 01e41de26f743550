/**
 * The console builds its DOM from elements and text nodes only. Every string handed to `el` becomes a
 * text node (textContent), never markup: model- and agent-written text (summaries, tool output, file
 * names, diffs, PR bodies) cannot become HTML, whatever it contains. No innerHTML anywhere.
 */
export type Child = Node | string | number | null | undefined | false;

export interface Attributes {
  [name: string]: string | number | boolean | undefined | ((event: Event) => void);
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') {
      node.addEventListener(name.replace(/^on/, ''), value);
      continue;
    }
    if (name === 'style' || name.startsWith('on')) throw new Error(`attribute ${name} is not allowed`);
    node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** An `href` for a URL written by someone else (a PR URL): only http(s), else none. */
export function safeHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** A link to a page of this console, handled by the client-side router. */
export function routeLink(path: string, ...children: Child[]): HTMLAnchorElement {
  return el('a', { href: path, 'data-route': true }, ...children);
}
