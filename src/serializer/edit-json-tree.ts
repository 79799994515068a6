/**
 * A JSON document as a tree of source ranges: where every object member, array item and
 * value is in the text. Numbers and strings are kept as written (a 20-digit integer is not
 * rounded through a JS number), so that the editor and the formatter can copy them verbatim.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';

export type JsonNode = JsonObject | JsonArray | JsonValue;

export interface JsonObject {
  readonly kind: 'object';
  readonly start: number;
  readonly end: number;
  readonly members: readonly JsonMember[];
}

export interface JsonArray {
  readonly kind: 'array';
  readonly start: number;
  readonly end: number;
  readonly items: readonly JsonNode[];
}

export interface JsonValue {
  readonly kind: 'value';
  readonly start: number;
  readonly end: number;
}

export interface JsonMember {
  readonly key: string;
  readonly keyStart: number;
  /** Offset after the key's closing quote. */
  readonly keyEnd: number;
  readonly value: JsonNode;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const ESCAPES = '"\\/bfnrt';

class JsonReader {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): JsonNode {
    if (this.text.charCodeAt(0) === 0xfeff) this.at = 1;
    this.skipSpace();
    const root = this.value();
    this.skipSpace();
    if (this.at < this.text.length) this.fail('unexpected text after the JSON value');
    return root;
  }

  private value(): JsonNode {
    const ch = this.text[this.at];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    const start = this.at;
    if (ch === '"') this.at = this.stringEnd();
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      NUMBER.lastIndex = start;
      if (!NUMBER.test(this.text)) this.fail('a malformed number');
      this.at = NUMBER.lastIndex;
    } else {
      const word = ['true', 'false', 'null'].find((w) => this.text.startsWith(w, start));
      if (word === undefined)
        this.fail(ch === undefined ? 'the JSON ends early' : `unexpected ${JSON.stringify(ch)}`);
      this.at += word.length;
    }
    return { kind: 'value', start, end: this.at };
  }

  private object(): JsonObject {
    const start = this.at++;
    const members: JsonMember[] = [];
    this.skipSpace();
    if (this.text[this.at] === '}') return { kind: 'object', start, end: ++this.at, members };
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] !== '"') this.fail('expected a member name in double quotes');
      const keyStart = this.at;
      const keyEnd = this.stringEnd();
      const raw = this.text.slice(keyStart, keyEnd);
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      this.at = keyEnd;
      this.skipSpace();
      if (this.text[this.at] !== ':') this.fail("expected ':' after a member name");
      this.at++;
      this.skipSpace();
      members.push({ key, keyStart, keyEnd, value: this.value() });
      this.skipSpace();
      const ch = this.text[this.at++];
      if (ch === '}') return { kind: 'object', start, end: this.at, members };
      if (ch !== ',') this.fail("expected ',' or '}'", this.at - 1);
    }
  }

  private array(): JsonArray {
    const start = this.at++;
    const items: JsonNode[] = [];
    this.skipSpace();
    if (this.text[this.at] === ']') return { kind: 'array', start, end: ++this.at, items };
    for (;;) {
      this.skipSpace();
      items.push(this.value());
      this.skipSpace();
      const ch = this.text[this.at++];
      if (ch === ']') return { kind: 'array', start, end: this.at, items };
      if (ch !== ',') this.fail("expected ',' or ']'", this.at - 1);
    }
  }

  /** Offset after the closing quote of the string starting at the current offset. */
  private stringEnd(): number {
    for (let i = this.at + 1; i < this.text.length; i++) {
      const ch = this.text.charCodeAt(i);
      if (ch === 92) {
        // Only JSON's escapes: anything else would be copied into output no reader accepts.
        const next = this.text[i + 1] ?? '';
        const valid =
          next === 'u' ? /^[0-9a-fA-F]{4}$/.test(this.text.slice(i + 2, i + 6)) : ESCAPES.includes(next);
        if (!valid || next === '') this.fail('a malformed escape inside a string', i);
        i++;
      } else if (ch === 34) return i + 1;
      else if (ch < 32) this.fail('a control character inside a string', i);
    }
    return this.fail('a string is not closed');
  }

  private skipSpace(): void {
    for (;;) {
      const ch = this.text.charCodeAt(this.at);
      if (ch !== 32 && ch !== 10 && ch !== 13 && ch !== 9) return;
      this.at++;
    }
  }

  private fail(message: string, at = this.at): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new GitOpsError(ErrorCodes.JsonSyntax, `invalid JSON: ${message}`, { details: { line, column } });
  }
}

/** Parses a JSON text into its tree of ranges; throws JsonSyntax with line and column. */
export function parseJsonTree(text: string): JsonNode {
  return new JsonReader(text).document();
}
