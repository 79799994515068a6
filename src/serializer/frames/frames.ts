/**
 * Frames: a YAML or JSON stream cut into its documents, each kept as the exact text it had,
 * so that a file re-assembles byte for byte (`separator + text + terminator` of every frame,
 * in order). Streams are cut incrementally: a 100 MB stream is never held whole.
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, GitOpsError } from '../../runtime/index.js';
import { exceedsBytes, frameTooLarge, resolveLimits, tooManyFrames } from './limits.js';
import type { Limits } from './limits.js';
import { JsonValueScanner, skipJsonSpace } from '../shared/json-tokens.js';

export type ContentType = 'yaml' | 'json';

/** One document of a stream, with the text around it that belongs to the stream's framing. */
export interface Frame {
  /** 0-based position in its stream; comment-only documents count too. */
  readonly index: number;
  readonly contentType: ContentType;
  /**
   * What precedes the document: its `---` line (with a trailing comment, if any), a BOM,
   * directives; for JSON the whitespace before the first value. Often empty.
   */
  readonly separator: string;
  /** The document itself, as written. */
  readonly text: string;
  /** What follows the document: a YAML `...` line; for JSON the whitespace after the value. */
  readonly terminator: string;
  /** 1-based line in the source of the first character of `text`. */
  readonly startLine: number;
  /** 1-based column of that character (not 1 after `--- ` on the same line, or `{}{}`). */
  readonly startColumn: number;
  /** Offset of `text` in the source, in UTF-16 code units of the decoded text. */
  readonly startOffset: number;
}

export interface FrameOptions {
  /** Taken from the file extension when a path is given, else sniffed from the first character. */
  contentType?: ContentType;
  /** File name for error messages. */
  file?: string;
  limits?: Partial<Limits>;
  signal?: AbortSignal;
}

/** Anything frames can be read from. A string is text; a file is given as `{ path }` or a file URL. */
export type FrameSource =
  string | Uint8Array | { path: string } | URL | AsyncIterable<string | Uint8Array> | NodeJS.ReadableStream;

/** Incremental splitter: feed text with `push`, get the frames that became complete. */
export interface FrameSplitter {
  push(chunk: string): Frame[];
  /**
   * The last frames. A limit passed while completing them is thrown by the next call, as with
   * `push`: call `end()` again after taking them (it returns no frame, or throws). `finish`
   * does both.
   */
  end(): Frame[];
  /** Characters copied into new strings so far (YAML): a measure of work, linear in the input. */
  readonly copied?: number;
}

const CONTENT_TYPES: Record<string, ContentType> = { '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' };

/** The content type a file name stands for, or undefined for other extensions. */
export function contentTypeOf(path: string): ContentType | undefined {
  return CONTENT_TYPES[extname(path).toLowerCase()];
}

/** JSON when the first character that is not a BOM or whitespace opens an object or array. */
export function sniffContentType(text: string): ContentType | undefined {
  const match = /^\uFEFF?\s*(\S)/.exec(text);
  if (match === null) return undefined;
  return match[1] === '{' || match[1] === '[' ? 'json' : 'yaml';
}

/** The exact text the frames were cut from. */
export function joinFrames(frames: Iterable<Frame>): string {
  let out = '';
  for (const f of frames) out += f.separator + f.text + f.terminator;
  return out;
}

/**
 * The last frames of a splitter, then any limit passed in them thrown (a second `end()`), so
 * that a stream cut short by a limit is never taken for a whole one.
 */
export function* finish(splitter: FrameSplitter): Generator<Frame> {
  yield* splitter.end();
  splitter.end();
}

/** Cuts a whole text into frames (synchronously). */
export function splitFrames(text: string, options: FrameOptions = {}): Frame[] {
  const contentType = options.contentType ?? sniffContentType(text) ?? 'yaml';
  const splitter = createFrameSplitter(contentType, options);
  const frames = splitter.push(text);
  for (const f of finish(splitter)) frames.push(f);
  return frames;
}

export function createFrameSplitter(contentType: ContentType, options: FrameOptions = {}): FrameSplitter {
  const limits = resolveLimits(options.limits);
  return contentType === 'json'
    ? new JsonFrameSplitter(limits, options.file)
    : new YamlFrameSplitter(limits, options.file);
}

/**
 * Reads frames from any source, one at a time. Only the current frame (and the chunk it
 * arrived in) is held in memory.
 */
export async function* readFrames(source: FrameSource, options: FrameOptions = {}): AsyncGenerator<Frame> {
  if (typeof source === 'string') {
    options.signal?.throwIfAborted();
    yield* splitFrames(source, options);
    return;
  }
  if (source instanceof Uint8Array) {
    yield* splitFrames(new TextDecoder('utf-8', { ignoreBOM: true }).decode(source), options);
    return;
  }
  let file = options.file;
  let chunks: AsyncIterable<string | Uint8Array>;
  let contentType = options.contentType;
  if (source instanceof URL || isPathSource(source)) {
    const path = source instanceof URL ? fileURLToPath(source) : source.path;
    file ??= path;
    contentType ??= contentTypeOf(file);
    chunks = createReadStream(path, { highWaterMark: 256 * 1024 });
  } else {
    chunks = source as AsyncIterable<string | Uint8Array>;
  }

  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let splitter: FrameSplitter | undefined;
  let pending = '';
  const feed = (text: string): Frame[] => {
    if (splitter === undefined) {
      pending += text;
      // Until the first significant character arrives the content type is not known; a long
      // run of blanks is not held for it.
      const type = contentType ?? sniffContentType(pending) ?? (pending.length > 65_536 ? 'yaml' : undefined);
      if (type === undefined) return [];
      splitter = createFrameSplitter(type, { ...options, file });
      text = pending;
      pending = '';
    }
    return splitter.push(text);
  };

  try {
    for await (const chunk of chunks) {
      options.signal?.throwIfAborted();
      yield* feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    }
    yield* feed(decoder.decode());
    splitter ??= createFrameSplitter(contentType ?? 'yaml', { ...options, file });
    if (pending !== '') yield* splitter.push(pending);
    yield* finish(splitter);
  } catch (err) {
    if (err instanceof GitOpsError) throw err;
    if (options.signal?.aborted) {
      throw new GitOpsError(ErrorCodes.Aborted, 'reading frames was aborted', {
        details: { file },
        cause: err,
      });
    }
    throw new GitOpsError(ErrorCodes.IoError, `cannot read ${file ?? 'stream'}: ${(err as Error).message}`, {
      details: { file },
      cause: err,
    });
  }
}

function isPathSource(source: object): source is { path: string } {
  return typeof (source as { path?: unknown }).path === 'string' && !(Symbol.asyncIterator in source);
}

/**
 * Keeps the frames completed before a limit was passed: they are returned, and the error is
 * thrown by the next call, so a reader gets every good document before the bad one.
 */
class SplitGuard {
  private failure: unknown;
  private failed = false;

  run(step: (out: Frame[]) => void): Frame[] {
    if (this.failed) throw this.failure;
    const out: Frame[] = [];
    try {
      step(out);
    } catch (err) {
      this.failed = true;
      this.failure = err;
      if (out.length === 0) throw err;
    }
    return out;
  }
}

const DASH = 45;
const DOT = 46;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const LF = 10;
const HASH = 35;
const PERCENT = 37;
const BOM = 0xfeff;

/** True when `buf` at `pos` holds `---` or `...` followed by a blank or the end of the line. */
function isMarker(buf: string, pos: number, code: number): boolean {
  if (buf.charCodeAt(pos + 1) !== code || buf.charCodeAt(pos + 2) !== code) return false;
  const next = buf.charCodeAt(pos + 3);
  return Number.isNaN(next) || next === SPACE || next === TAB || next === CR || next === LF;
}

/**
 * Cuts YAML at `---` and `...` lines at column 0, which the YAML spec forbids inside a
 * document's content, so no parse is needed. Comment-only stretches stay frames of their own
 * (they round-trip but hold no object). Directives (`%YAML`) and a BOM go into the separator.
 */
class YamlFrameSplitter implements FrameSplitter {
  /**
   * The current frame's text is held as scanned pieces (`head`) and the unscanned rest
   * (`tail`), joined only when a frame ends: a chunk is scanned once and copied a bounded number
   * of times, so reading a large document in small chunks is linear, not quadratic.
   */
  private head: string[] = [];
  private headLength = 0;
  private tail = '';
  /** Characters copied into new strings so far (joins, concatenations): the work done. */
  copied = 0;
  /** Offset in the source of buf[0]; buf always starts where the current frame starts. */
  private base = 0;
  /** Start of the next line to examine, in buf. */
  private pos = 0;
  /** Line number of buf[pos]. */
  private line = 1;
  /** Where the current frame's text starts in buf (its separator is buf[0, textStart)). */
  private textStart = 0;
  private textLine = 1;
  private textColumn = 1;
  /** Between documents: at the start of the stream or after `...`, before any content. */
  private inPrefix = true;
  private prefixHasComment = false;
  private prefixHasDirective = false;
  private started = false;
  private ended = false;
  private count = 0;

  constructor(
    private readonly limits: Limits,
    private readonly file: string | undefined,
  ) {}

  /** The current frame's whole text (joined once, when a frame ends). */
  private get buf(): string {
    if (this.head.length > 0) {
      this.copied += this.headLength + this.tail.length;
      this.tail = this.head.join('') + this.tail;
      this.head = [];
      this.headLength = 0;
    }
    return this.tail;
  }

  private set buf(text: string) {
    this.head = [];
    this.headLength = 0;
    this.tail = text;
  }

  push(chunk: string): Frame[] {
    return this.guard.run((out) => {
      if (chunk === '') return;
      this.copied += this.tail.length - (this.pos - this.headLength) + chunk.length;
      this.tail += chunk;
      // A concatenation is a rope; searching a large rope line by line re-walks it. Turning it
      // into one flat string now (ToNumber flattens its argument) keeps each search local.
      void Number(this.tail);
      if (!this.started) {
        this.started = true;
        if (this.tail.charCodeAt(0) === BOM) this.pos = this.textStart = 1;
      }
      this.scan(out, false);
      // What was scanned moves to the head, so the next chunk joins only the unscanned rest.
      const local = this.pos - this.headLength;
      if (local > 0) {
        this.head.push(this.tail.slice(0, local));
        this.headLength += local;
        this.tail = this.tail.slice(local);
      }
    });
  }

  end(): Frame[] {
    return this.guard.run((out) => {
      if (this.ended) return;
      this.ended = true;
      this.scan(out, true);
      const length = this.headLength + this.tail.length;
      if (!this.inPrefix || length > 0) this.emit(out, length, length);
    });
  }

  private readonly guard = new SplitGuard();

  private scan(out: Frame[], final: boolean): void {
    for (;;) {
      const text = this.tail;
      const offset = this.headLength;
      const local = this.pos - offset;
      if (local >= text.length) break;
      const newline = text.indexOf('\n', local);
      if (newline === -1 && !final) {
        if (text.length - local > this.limits.maxFrameBytes) this.tooLarge();
        break;
      }
      const lineEnd = newline === -1 ? text.length : newline;
      const after = newline === -1 ? text.length : newline + 1;
      const c = text.charCodeAt(local);
      if (c === DASH && isMarker(text, local, DASH)) {
        this.documentStart(out, this.pos, offset + lineEnd, offset + after);
      } else if (c === DOT && !this.inPrefix && isMarker(text, local, DOT)) {
        this.emit(out, this.pos, offset + after);
        this.inPrefix = true;
        this.pos = 0;
        this.textLine = this.line + 1;
        this.textColumn = 1;
      } else {
        if (this.inPrefix) this.classifyPrefixLine(text, local, lineEnd);
        this.pos = offset + after;
        if (this.pos > this.limits.maxFrameBytes) this.tooLarge();
      }
      if (newline !== -1) this.line++;
    }
  }

  private classifyPrefixLine(buf: string, pos: number, lineEnd: number): void {
    let i = pos;
    while (i < lineEnd) {
      const c = buf.charCodeAt(i);
      if (c !== SPACE && c !== TAB && c !== CR) break;
      i++;
    }
    if (i === lineEnd) return;
    const c = buf.charCodeAt(i);
    if (c === HASH || (c === DOT && i === pos && isMarker(buf, pos, DOT))) this.prefixHasComment = true;
    else if (c === PERCENT && i === pos) this.prefixHasDirective = true;
    else this.inPrefix = false;
  }

  private documentStart(out: Frame[], pos: number, lineEnd: number, after: number): void {
    let lineStart = pos;
    if (!this.inPrefix || (this.prefixHasComment && !this.prefixHasDirective)) {
      this.emit(out, pos, pos);
      lineStart = 0;
      lineEnd -= pos;
      after -= pos;
    }
    // Otherwise what came before (blank lines, directives, a BOM) joins this frame's separator.
    const { buf } = this;
    let j = lineStart + 3;
    while (j < lineEnd) {
      const c = buf.charCodeAt(j);
      if (c !== SPACE && c !== TAB && c !== CR) break;
      j++;
    }
    if (j >= lineEnd || buf.charCodeAt(j) === HASH) {
      this.textStart = after;
      this.textLine = this.line + 1;
      this.textColumn = 1;
    } else {
      // Content on the marker line, e.g. `--- |` or `--- {a: 1}`.
      this.textStart = j;
      this.textLine = this.line;
      this.textColumn = j - lineStart + 1;
    }
    this.pos = after;
    this.inPrefix = false;
    this.prefixHasComment = false;
    this.prefixHasDirective = false;
  }

  /** Emits buf[0, textEnd) + terminator buf[textEnd, end) as a frame and drops it from buf. */
  private emit(out: Frame[], textEnd: number, end: number): void {
    const { buf } = this;
    const frame: Frame = {
      index: this.count,
      contentType: 'yaml',
      separator: buf.slice(0, this.textStart),
      text: buf.slice(this.textStart, textEnd),
      terminator: buf.slice(textEnd, end),
      startLine: this.textLine,
      startColumn: this.textColumn,
      startOffset: this.base + this.textStart,
    };
    if (exceedsBytes(frame.text, this.limits.maxFrameBytes)) this.tooLarge();
    this.count++;
    if (this.count > this.limits.maxFrames) {
      throw tooManyFrames(this.limits, { file: this.file, document: frame.index, line: frame.startLine });
    }
    out.push(frame);
    this.buf = buf.slice(end);
    this.base += end;
    this.pos -= end;
    this.textStart = 0;
    this.prefixHasComment = false;
    this.prefixHasDirective = false;
  }

  private tooLarge(): never {
    throw frameTooLarge(this.limits, {
      file: this.file,
      document: this.count,
      line: this.textLine,
      column: this.textColumn,
    });
  }
}

/**
 * Cuts a JSON stream into its top-level values: one object, concatenated objects, or NDJSON.
 * The JSON tokenizer finds where each value ends (`JsonValueScanner` of json-tokens.ts, which
 * reads each chunk once, so brackets inside strings do not count); the whitespace after a
 * value is its terminator. Malformed input still yields frames, which then fail to decode
 * with a position.
 */
class JsonFrameSplitter implements FrameSplitter {
  /**
   * The current frame's text so far: the scanned chunks (`head`) and the chunk being scanned
   * (`tail`), joined only when a frame ends. Appending each chunk to one string instead made
   * every chunk's scan flatten the whole document again: quadratic in a document's size.
   */
  private head: string[] = [];
  private headLength = 0;
  private tail = '';
  /** Characters copied into new strings so far (flattened chunks, joins): the work done. */
  copied = 0;
  private base = 0;
  /** Scan position in the current frame's text. */
  private pos = 0;
  private line = 1;
  /** Offset in the source where the current line starts. */
  private lineStart = 0;
  /** Offset in the current frame's text up to which line breaks are counted. */
  private linesCounted = 0;
  /** Where the current value starts in the frame's text, or -1 while between values. */
  private valueStart = -1;
  private valueLine = 1;
  private valueColumn = 1;
  /** Follows the current value to its end. */
  private value = new JsonValueScanner();
  private bom = false;
  /** Where the last value ended in the frame's text, or -1 if none is waiting for its terminator. */
  private valueEnd = -1;
  private ended = false;
  private count = 0;

  constructor(
    private readonly limits: Limits,
    private readonly file: string | undefined,
  ) {}

  private readonly guard = new SplitGuard();

  /** Length of the current frame's text so far. */
  private get length(): number {
    return this.headLength + this.tail.length;
  }

  push(chunk: string): Frame[] {
    return this.guard.run((out) => {
      if (chunk === '') return;
      // Everything before was scanned: it waits in the head, and only the new chunk is read.
      if (this.tail !== '') {
        this.head.push(this.tail);
        this.headLength += this.tail.length;
      }
      this.tail = chunk;
      // A chunk made by concatenation is a rope; flatten it once (ToNumber does) before reading.
      void Number(this.tail);
      this.copied += chunk.length;
      this.scan(out);
    });
  }

  end(): Frame[] {
    return this.guard.run((out) => {
      if (this.ended) return;
      this.ended = true;
      this.finish(out);
    });
  }

  private finish(out: Frame[]): void {
    this.scan(out);
    const length = this.length;
    if (this.valueStart !== -1) {
      if (this.valueEnd === -1) this.valueEnd = length;
      this.emit(out, length);
    } else if (length > 0) {
      // Only whitespace: keep it as an empty frame so the text round-trips.
      this.valueStart = this.valueEnd = length;
      this.valueLine = this.line;
      this.valueColumn = this.base + length - this.lineStart + 1;
      this.emit(out, length);
    }
  }

  /** Reads the tail: positions before it were read by an earlier push. */
  private scan(out: Frame[]): void {
    let i = this.pos;
    while (i < this.length) {
      i = this.valueStart === -1 || this.valueEnd !== -1 ? this.between(out, i) : this.follow(i);
    }
    this.countLines(i);
    this.pos = i;
  }

  /**
   * Between values: whitespace (and a BOM opening the stream) until the next value starts,
   * which completes the last one. Returns where reading goes on: the new value's first
   * character, or the end of the tail.
   */
  private between(out: Frame[], i: number): number {
    const offset = this.headLength;
    let local = skipJsonSpace(this.tail, i - offset);
    if (this.tail.charCodeAt(local) === BOM && this.base + offset + local === 0) {
      this.bom = true;
      local = skipJsonSpace(this.tail, local + 1);
    }
    let start = offset + local;
    if (start >= this.length) return start;
    this.countLines(start);
    if (this.valueEnd !== -1) {
      this.emit(out, start);
      start = 0;
    }
    this.startValue(start);
    return start;
  }

  /** Reads the current value on through the tail; returns its end, or the tail's end. */
  private follow(i: number): number {
    const offset = this.headLength;
    const end = this.value.scan(this.tail, i - offset);
    const reached = end === -1 ? this.length : offset + end;
    // What was read while the value was still open: not the bracket or quote that closed it.
    this.checkSize(end !== -1 && this.value.closesItself ? reached - 1 : reached);
    if (end !== -1) this.valueEnd = reached;
    return reached;
  }

  /**
   * Refuses a value once what was read of it while open, its first character aside, passes
   * the limit (a whole value is measured in bytes again when it is emitted).
   */
  private checkSize(read: number): void {
    if (read - this.valueStart > Math.max(1, this.limits.maxFrameBytes)) this.tooLarge();
  }

  private startValue(i: number): void {
    this.valueStart = i;
    this.valueLine = this.line;
    // A BOM takes no column.
    this.valueColumn = this.base + i - this.lineStart + 1 - (this.bom && this.line === 1 ? 1 : 0);
    this.value = new JsonValueScanner();
  }

  /** Counts the line breaks of the frame's text before `to` (in the tail) not counted yet. */
  private countLines(to: number): void {
    const text = this.tail;
    const offset = this.headLength;
    for (let i = this.linesCounted; i < to; i++) {
      if (text.charCodeAt(i - offset) === LF) {
        this.line++;
        this.lineStart = this.base + i + 1;
      }
    }
    if (to > this.linesCounted) this.linesCounted = to;
  }

  /** Emits the waiting value with the text [valueEnd, end) as its terminator. */
  private emit(out: Frame[], end: number): void {
    let buf = this.tail;
    if (this.head.length > 0) {
      this.copied += this.length;
      buf = this.head.join('') + this.tail;
    }
    const separatorEnd = this.valueStart;
    const frame: Frame = {
      index: this.count,
      contentType: 'json',
      separator: buf.slice(0, separatorEnd),
      text: buf.slice(separatorEnd, this.valueEnd),
      terminator: buf.slice(this.valueEnd, end),
      startLine: this.valueLine,
      startColumn: this.valueColumn,
      startOffset: this.base + separatorEnd,
    };
    if (exceedsBytes(frame.text, this.limits.maxFrameBytes)) this.tooLarge();
    this.count++;
    if (this.count > this.limits.maxFrames) {
      throw tooManyFrames(this.limits, { file: this.file, document: frame.index, line: frame.startLine });
    }
    out.push(frame);
    this.head = [];
    this.headLength = 0;
    this.tail = buf.slice(end);
    this.base += end;
    this.pos = 0;
    this.linesCounted -= end;
    this.valueStart = -1;
    this.valueEnd = -1;
  }

  private tooLarge(): never {
    throw frameTooLarge(this.limits, {
      file: this.file,
      document: this.count,
      line: this.valueLine,
      column: this.valueColumn,
    });
  }
}
