/**
 * The one JSON tokenizer of the serializer: the frame splitter cuts streams with it, the
 * decoder counts keys and finds where a text stops being JSON with it, and the tree that the
 * JSON editor and the formatter work on is read with it. It reads one token at a time, with
 * no allocation per token, and never throws: a token that is not JSON comes back as
 * `Invalid` (or as a string with a `problem`), with the offsets a reader needs to report it.
 * A string is always read to its closing quote (or the end), even when something inside it
 * is not JSON, so a lenient reader (the frame splitter) still sees where it ends.
 */

export const JsonTokenType = {
  End: 0,
  BeginObject: 1,
  EndObject: 2,
  BeginArray: 3,
  EndArray: 4,
  Colon: 5,
  Comma: 6,
  String: 7,
  Number: 8,
  /** `true`, `false` or `null`. */
  Literal: 9,
  /** Text that is no JSON token: a stray character, a broken number, part of a literal. */
  Invalid: 10,
} as const;
export type JsonTokenType = (typeof JsonTokenType)[keyof typeof JsonTokenType];

/** What is wrong inside a token, in the words JSON readers report it with. */
export const JsonProblem = {
  None: 0,
  /** A backslash not followed by one of JSON's escapes. */
  Escape: 1,
  /** A character below U+0020 inside a string. */
  Control: 2,
  /** A string that reaches the end of the text. */
  Unclosed: 3,
  /** A `-` or digit that does not start a JSON number. */
  Number: 4,
  /** A character that starts no token (or a literal that is not `true`, `false` or `null`). */
  Unexpected: 5,
} as const;
export type JsonProblem = (typeof JsonProblem)[keyof typeof JsonProblem];

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const LITERALS = ['true', 'false', 'null'] as const;

export function isJsonSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** True when `c` may follow a backslash in a JSON string (`u` is checked with its digits). */
function isSimpleEscape(c: number): boolean {
  // " \ / b f n r t
  return c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116;
}

/**
 * A cursor over a JSON text. `next()` skips whitespace and reads one token; its kind and
 * range are then in `type`, `start` and `end`. For a token with a problem, `problem` says
 * what, `problemAt` is where it is (the backslash of a bad escape, the control character, the
 * opening quote of an unclosed string, the token's start otherwise) and `stop` is the first
 * character that cannot be read (after the backslash, the end of the text, the first letter
 * that leaves `true`).
 */
export class JsonTokenizer {
  type: JsonTokenType = JsonTokenType.End;
  start = 0;
  end = 0;
  problem: JsonProblem = JsonProblem.None;
  problemAt = 0;
  stop = 0;
  /** For a string that reaches the end of the text: where to go on reading it once more text came. */
  resume = 0;
  /** True when the token just read is a string that reaches the end of the text without its closing quote. */
  unclosed = false;

  constructor(
    readonly text: string,
    /** Offset of the next token. */
    public pos = 0,
  ) {}

  /** Skips whitespace; returns the offset of the next character. */
  skipSpace(): number {
    const text = this.text;
    let i = this.pos;
    while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
    this.pos = i;
    return i;
  }

  next(): JsonTokenType {
    const text = this.text;
    const start = this.skipSpace();
    this.start = start;
    this.problem = JsonProblem.None;
    this.unclosed = false;
    if (start >= text.length) return this.token(JsonTokenType.End, start);
    const c = text.charCodeAt(start);
    switch (c) {
      case 123:
        return this.token(JsonTokenType.BeginObject, start + 1);
      case 125:
        return this.token(JsonTokenType.EndObject, start + 1);
      case 91:
        return this.token(JsonTokenType.BeginArray, start + 1);
      case 93:
        return this.token(JsonTokenType.EndArray, start + 1);
      case 58:
        return this.token(JsonTokenType.Colon, start + 1);
      case 44:
        return this.token(JsonTokenType.Comma, start + 1);
      case QUOTE:
        return this.continueString(start, start + 1);
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number(start);
        return this.literal(start);
    }
  }

  private token(type: JsonTokenType, end: number): JsonTokenType {
    this.type = type;
    this.end = end;
    this.pos = end;
    return type;
  }

  private fail(
    type: JsonTokenType,
    problem: JsonProblem,
    end: number,
    at: number,
    stop: number,
  ): JsonTokenType {
    this.problem = problem;
    this.problemAt = at;
    this.stop = stop;
    return this.token(type, end);
  }

  /**
   * A string from its opening quote at `start`, read from `from` (after the quote, or the
   * `resume` of an earlier read of a shorter text) to its closing quote whatever it holds;
   * the first problem (after `from`) is kept.
   */
  continueString(start: number, from: number): JsonTokenType {
    const text = this.text;
    this.start = start;
    this.problem = JsonProblem.None;
    this.unclosed = false;
    let problem: JsonProblem = JsonProblem.None;
    let at = 0;
    let stop = 0;
    let i = from;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        if (problem === JsonProblem.None) return this.token(JsonTokenType.String, i + 1);
        return this.fail(JsonTokenType.String, problem, i + 1, at, stop);
      }
      if (c === BACKSLASH) {
        if (problem === JsonProblem.None) {
          const e = text.charCodeAt(i + 1);
          let valid = isSimpleEscape(e);
          if (e === 117) {
            HEX4.lastIndex = i + 2;
            valid = HEX4.test(text);
          }
          if (!valid) {
            problem = JsonProblem.Escape;
            at = i;
            stop = i + 1;
          }
        }
        // The escaped character never ends the string, whatever it is.
        i++;
      } else if (c < 32 && problem === JsonProblem.None) {
        problem = JsonProblem.Control;
        at = stop = i;
      }
    }
    // A backslash at the very end escapes what comes next: read it again then.
    this.resume = i > text.length ? text.length - 1 : text.length;
    this.unclosed = true;
    if (problem !== JsonProblem.None) return this.fail(JsonTokenType.String, problem, text.length, at, stop);
    return this.fail(JsonTokenType.String, JsonProblem.Unclosed, text.length, start, text.length);
  }

  private number(start: number): JsonTokenType {
    NUMBER.lastIndex = start;
    if (NUMBER.test(this.text)) return this.token(JsonTokenType.Number, NUMBER.lastIndex);
    return this.fail(JsonTokenType.Invalid, JsonProblem.Number, start + 1, start, start);
  }

  /** `true`, `false`, `null`, or the longest start of one (at least one character) as Invalid. */
  private literal(start: number): JsonTokenType {
    const text = this.text;
    let matched = 0;
    for (const word of LITERALS) {
      let n = 0;
      while (n < word.length && text.charCodeAt(start + n) === word.charCodeAt(n)) n++;
      if (n === word.length) return this.token(JsonTokenType.Literal, start + n);
      if (n > matched) matched = n;
    }
    return this.fail(
      JsonTokenType.Invalid,
      JsonProblem.Unexpected,
      start + Math.max(1, matched),
      start,
      start + matched,
    );
  }
}

/** The number of keys (strings followed by a colon) written in a JSON text. */
export function countJsonKeys(text: string): number {
  const tokens = new JsonTokenizer(text);
  let count = 0;
  let previous: JsonTokenType = JsonTokenType.End;
  for (let type = tokens.next(); type !== JsonTokenType.End; type = tokens.next()) {
    if (type === JsonTokenType.Colon && previous === JsonTokenType.String) count++;
    previous = type;
  }
  return count;
}
