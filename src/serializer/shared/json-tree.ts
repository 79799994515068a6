/**
 * A JSON document as a tree of source ranges: where every object member, array item and
 * value is in the text. Numbers and strings are kept as written (a 20-digit integer is not
 * rounded through a JS number), so that the editor and the formatter can copy them verbatim.
 * Read from the tokens of json-tokens.ts; the same reading tells the decoder where a text
 * stops being JSON. Nesting is followed with a stack of our own, so depth costs no recursion.
 */
import { ErrorCodes, GitOpsError } from '../../runtime/index.js';
import { SourceLines } from './lines.js';
import { JsonProblem, JsonTokenizer, JsonTokenType } from './json-tokens.js';

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

/** Where and why a text is not JSON. */
export interface JsonSyntaxFailure {
  readonly message: string;
  /** Where the problem is: the offending token, a bad escape's backslash, an unclosed string's quote. */
  readonly at: number;
  /** The first character that cannot be read (after a bad escape's backslash, the end of an unclosed string). */
  readonly stop: number;
}

class Failure {
  constructor(readonly failure: JsonSyntaxFailure) {}
}

interface OpenObject {
  kind: 'object';
  start: number;
  members: JsonMember[];
  /** The member whose value is being read. */
  key: string;
  keyStart: number;
  keyEnd: number;
}

interface OpenArray {
  kind: 'array';
  start: number;
  items: JsonNode[];
}

const STRING_PROBLEMS: Record<number, string> = {
  [JsonProblem.Escape]: 'a malformed escape inside a string',
  [JsonProblem.Control]: 'a control character inside a string',
  [JsonProblem.Unclosed]: 'a string is not closed',
};

class JsonReader {
  private readonly tokens: JsonTokenizer;

  constructor(private readonly text: string) {
    this.tokens = new JsonTokenizer(text);
  }

  document(skipBom: boolean): JsonNode {
    if (skipBom && this.text.charCodeAt(0) === 0xfeff) this.tokens.pos = 1;
    const root = this.value();
    const tokens = this.tokens;
    if (tokens.next() !== JsonTokenType.End) this.fail('unexpected text after the JSON value', tokens.start);
    return root;
  }

  /** Reads one value with the containers it opens, iteratively. */
  private value(): JsonNode {
    const tokens = this.tokens;
    const stack: Array<OpenObject | OpenArray> = [];
    let done: JsonNode | undefined;
    for (;;) {
      if (done === undefined) {
        const type = tokens.next();
        const start = tokens.start;
        if (type === JsonTokenType.BeginObject) {
          if (this.peekClose(JsonTokenType.EndObject))
            done = { kind: 'object', start, end: tokens.end, members: [] };
          else {
            const open: OpenObject = { kind: 'object', start, members: [], key: '', keyStart: 0, keyEnd: 0 };
            this.memberName(open);
            stack.push(open);
          }
        } else if (type === JsonTokenType.BeginArray) {
          if (this.peekClose(JsonTokenType.EndArray))
            done = { kind: 'array', start, end: tokens.end, items: [] };
          else stack.push({ kind: 'array', start, items: [] });
        } else {
          done = this.scalar(type);
        }
        continue;
      }
      const open = stack[stack.length - 1];
      if (open === undefined) return done;
      if (open.kind === 'object') {
        open.members.push({ key: open.key, keyStart: open.keyStart, keyEnd: open.keyEnd, value: done });
      } else open.items.push(done);
      done = undefined;
      const type = tokens.next();
      const close = open.kind === 'object' ? JsonTokenType.EndObject : JsonTokenType.EndArray;
      if (type === close) {
        stack.pop();
        done =
          open.kind === 'object'
            ? { kind: 'object', start: open.start, end: tokens.end, members: open.members }
            : { kind: 'array', start: open.start, end: tokens.end, items: open.items };
      } else if (type !== JsonTokenType.Comma) {
        this.fail(open.kind === 'object' ? "expected ',' or '}'" : "expected ',' or ']'", tokens.start);
      } else if (open.kind === 'object') this.memberName(open);
    }
  }

  /** Whether the container just opened closes at once (the closing token is then read). */
  private peekClose(close: JsonTokenType): boolean {
    const tokens = this.tokens;
    const c = this.text.charCodeAt(tokens.skipSpace());
    if (c !== (close === JsonTokenType.EndObject ? 125 : 93)) return false;
    tokens.next();
    return true;
  }

  /** Reads `"name":` of the next member into `open`. */
  private memberName(open: OpenObject): void {
    const tokens = this.tokens;
    const type = tokens.next();
    if (type !== JsonTokenType.String) this.fail('expected a member name in double quotes', tokens.start);
    this.checkString();
    const raw = this.text.slice(tokens.start, tokens.end);
    open.key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    open.keyStart = tokens.start;
    open.keyEnd = tokens.end;
    if (tokens.next() !== JsonTokenType.Colon) this.fail("expected ':' after a member name", tokens.start);
  }

  private scalar(type: JsonTokenType): JsonValue {
    const tokens = this.tokens;
    const start = tokens.start;
    if (type === JsonTokenType.String) this.checkString();
    else if (type === JsonTokenType.Invalid && tokens.problem === JsonProblem.Number) {
      this.fail('a malformed number', start);
    } else if (type === JsonTokenType.End) this.fail('the JSON ends early', start);
    else if (type !== JsonTokenType.Number && type !== JsonTokenType.Literal) {
      // In a value's place the checker reads a literal as far as it goes.
      const stop = type === JsonTokenType.Invalid ? tokens.stop : start;
      this.fail(`unexpected ${JSON.stringify(this.text[start])}`, start, stop);
    }
    return { kind: 'value', start, end: tokens.end };
  }

  private checkString(): void {
    const tokens = this.tokens;
    if (tokens.problem === JsonProblem.None) return;
    this.fail(STRING_PROBLEMS[tokens.problem] ?? 'a malformed string', tokens.problemAt, tokens.stop);
  }

  private fail(message: string, at: number, stop = at): never {
    throw new Failure({ message, at, stop });
  }
}

/** The tree of a JSON text, or where and why it is not JSON. */
export function readJsonTree(
  text: string,
  options: { skipBom?: boolean } = {},
): { root: JsonNode; failure?: undefined } | { root?: undefined; failure: JsonSyntaxFailure } {
  try {
    return { root: new JsonReader(text).document(options.skipBom ?? true) };
  } catch (err) {
    if (err instanceof Failure) return { failure: err.failure };
    throw err;
  }
}

/** Parses a JSON text into its tree of ranges; throws JsonSyntax with line and column. */
export function parseJsonTree(text: string): JsonNode {
  const { root, failure } = readJsonTree(text);
  if (root !== undefined) return root;
  const { line, column } = new SourceLines(text).position(failure.at);
  throw new GitOpsError(ErrorCodes.JsonSyntax, `invalid JSON: ${failure.message}`, {
    details: { line, column },
  });
}

/**
 * Where a JSON text stops being JSON, for the messages of JSON.parse that give no position:
 * the first character that cannot be read, or the text's length when all of it can.
 */
export function jsonErrorOffset(text: string): number {
  const { failure } = readJsonTree(text, { skipBom: false });
  return failure === undefined ? text.length : Math.min(failure.stop, text.length);
}
