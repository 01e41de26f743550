/**
 * A strict scanner for the XML that coverage tools write (Cobertura, JaCoCo): elements, attributes,
 * text, comments, CDATA, the XML declaration and a DOCTYPE naming an external DTD. The DTD is never
 * fetched; an internal subset (where entities would be declared) is refused, and so is any entity
 * other than the five predefined ones and character references, so nothing expands. Anything not
 * well formed (a mismatched or unclosed tag, text after the root) is an error, not a guess.
 */
export class CoverageReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoverageReportError';
  }
}

export interface XmlVisitor {
  /** An element's start; `ancestors` are the names of the open elements above it, outermost first. */
  open(name: string, attributes: Readonly<Record<string, string>>, ancestors: readonly string[]): void;
  /** Text (and CDATA) directly inside the element `ancestors.at(-1)`. */
  text?(text: string, ancestors: readonly string[]): void;
}

const MAX_DEPTH = 64;
const NAME = /[A-Za-z_:][\w.:-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END = /\s*(\/?)>/y;

export function scanXml(xml: string, visitor: XmlVisitor): void {
  const stack: string[] = [];
  let sawRoot = false;
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (what: string): never => {
    throw new CoverageReportError(`not well-formed XML: ${what} (at offset ${i})`);
  };
  const skipTo = (terminator: string, what: string): number => {
    const end = xml.indexOf(terminator, i);
    if (end === -1) fail(`unterminated ${what}`);
    return end + terminator.length;
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (text.trim() !== '') {
      if (stack.length === 0) fail('text outside the root element');
      visitor.text?.(decodeEntities(text), stack);
    }
    if (lt === -1) break;
    i = lt;
    if (xml.startsWith('<?', i)) {
      i = skipTo('?>', 'processing instruction');
    } else if (xml.startsWith('<!--', i)) {
      i = skipTo('-->', 'comment');
    } else if (xml.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('CDATA outside the root element');
      const end = skipTo(']]>', 'CDATA section');
      visitor.text?.(xml.slice(i + 9, end - 3), stack);
      i = end;
    } else if (xml.startsWith('<!DOCTYPE', i)) {
      if (sawRoot) fail('DOCTYPE after the root element');
      const end = skipTo('>', 'DOCTYPE');
      if (xml.slice(i, end).includes('[')) fail('a DOCTYPE with an internal subset is refused');
      i = end;
    } else if (xml.startsWith('</', i)) {
      NAME.lastIndex = i + 2;
      const name = NAME.exec(xml)?.[0];
      if (!name) fail('a closing tag without a name');
      if (stack.at(-1) !== name) fail(`</${name}> does not close <${stack.at(-1) ?? 'nothing'}>`);
      const end = /\s*>/y;
      end.lastIndex = i + 2 + name!.length;
      if (!end.exec(xml)) fail(`a malformed </${name}>`);
      stack.pop();
      i = end.lastIndex;
    } else {
      NAME.lastIndex = i + 1;
      const name = NAME.exec(xml)?.[0];
      if (!name) fail('a tag without a name');
      if (stack.length === 0 && sawRoot) fail('a second root element');
      let at = i + 1 + name!.length;
      const attributes: Record<string, string> = {};
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const m = ATTRIBUTE.exec(xml);
        if (!m) break;
        if (Object.hasOwn(attributes, m[1]!)) fail(`attribute ${m[1]} given twice`);
        attributes[m[1]!] = decodeEntities(m[2] ?? m[3] ?? '');
        at = ATTRIBUTE.lastIndex;
      }
      TAG_END.lastIndex = at;
      const end = TAG_END.exec(xml);
      if (!end) fail(`a malformed <${name}>`);
      sawRoot = true;
      visitor.open(name!, attributes, stack);
      if (end![1] !== '/') {
        if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
        stack.push(name!);
      }
      i = TAG_END.lastIndex;
    }
  }
  if (stack.length) fail(`<${stack.at(-1)}> is not closed`);
  if (!sawRoot) fail('no root element');
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&([^;\s&]{0,10});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new CoverageReportError('not well-formed XML: a bare "&"');
    const predefined = PREDEFINED[ref];
    if (predefined) return predefined;
    const code = /^#x([0-9a-f]{1,6})$/i.exec(ref)
      ? Number.parseInt(ref.slice(2), 16)
      : /^#(\d{1,7})$/.exec(ref)
        ? Number(ref.slice(1))
        : undefined;
    if (code === undefined) throw new CoverageReportError(`not well-formed XML: the entity &${ref}; is not predefined`);
    if (code > 0x10ffff || code === 0) throw new CoverageReportError(`not well-formed XML: &${ref}; is not a character`);
    return String.fromCodePoint(code);
  });
}
