/**
 * One manifest file as storage sees it: its frames and the objects they hold. Edits touch
 * only the document they are about (through the lossless editors); every other byte of the
 * file stays as it was, and an untouched file prints back byte for byte.
 */
import {
  ErrorCodes,
  GitOpsError,
  isGitOpsError,
  isList,
  isPlainObject,
  toGitOpsError,
} from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { Decoder } from './decode/decode.js';
import type { DecodedDocument, DecoderOptions } from './decode/decode.js';
import { editJsonDocument } from './edit/json/editor.js';
import { editYamlDocument } from './edit/yaml/editor.js';
import type { RemovedComment } from './edit/yaml/editor.js';
import { encodeJsonDocument, encodeYamlDocument } from './encode/encode.js';
import { contentTypeOf, joinFrames, sniffContentType, splitFrames } from './frames/frames.js';
import type { ContentType, Frame } from './frames/frames.js';

export interface ManifestFileOptions {
  /** File name, for messages (and the content type, from its extension, when not given). */
  file?: string;
  /** Taken from the file name's extension, else sniffed from the text. */
  contentType?: ContentType;
  /** A decoder, or the options of one; strict by default. */
  decoder?: Decoder | DecoderOptions;
}

/** One document of the file. */
export interface ManifestDocument {
  /** 0-based; comment-only documents count. Indexes after a removed document shift down. */
  readonly index: number;
  readonly frame: Frame;
  /** The object the document holds (a List as a whole), or undefined for none or a refused one. */
  readonly object: KubeObject | undefined;
  /** The accepted objects: the object, a List's items, or none. */
  readonly objects: readonly KubeObject[];
  /** True when the document holds only comments or blank lines. */
  readonly empty: boolean;
  readonly errors: readonly GitOpsError[];
}

export interface SetObjectOptions {
  /**
   * Keep the comments of removed fields at the top of the document, under the line
   * `REMOVED_COMMENTS_HEADER`, each after the path of its field (as the Go library kept its
   * "lost" comments), instead of only returning them. YAML only: JSON has no comments.
   */
  keepRemovedComments?: boolean;
}

/** The line above the comments of removed fields that `keepRemovedComments` keeps. */
export const REMOVED_COMMENTS_HEADER = '# Comments of removed fields:';

export interface SetObjectResult {
  /** Comments the edit had to drop because the values they described are gone (lines of the file). */
  removedComments: RemovedComment[];
}

export class ManifestFile {
  readonly file: string | undefined;
  readonly contentType: ContentType;
  readonly #decoder: Decoder;
  readonly #original: string;
  #frames: Frame[];
  #documents: ManifestDocument[];
  /** Problems of the file as a whole (a limit passed while framing); such a file cannot be edited. */
  readonly #fileErrors: GitOpsError[];
  #modified = false;

  private constructor(text: string, options: ManifestFileOptions) {
    this.file = options.file;
    this.contentType =
      options.contentType ??
      (options.file !== undefined ? contentTypeOf(options.file) : undefined) ??
      sniffContentType(text) ??
      'yaml';
    this.#decoder =
      options.decoder instanceof Decoder
        ? options.decoder
        : new Decoder({ ...options.decoder, throwOnError: false });
    this.#original = text;
    this.#fileErrors = [];
    this.#frames = [];
    this.#documents = [];
    try {
      this.#frames = splitFrames(text, {
        contentType: this.contentType,
        file: this.file,
        limits: this.#decoder.limits,
      });
    } catch (err) {
      this.#fileErrors.push(toGitOpsError(err).withDetails({ file: this.file }));
    }
    this.#documents = this.#frames.map((frame) => this.#decode(frame));
  }

  /** Splits and decodes a file's text. Problems are collected on `errors`, never thrown. */
  static parse(text: string, options: ManifestFileOptions = {}): ManifestFile {
    return new ManifestFile(text, options);
  }

  get documents(): readonly ManifestDocument[] {
    return this.#documents;
  }

  /** Every accepted object of the file, in order (List items in place of their List). */
  get objects(): KubeObject[] {
    return this.#documents.flatMap((d) => d.objects);
  }

  /** Every problem of the file, in order. */
  get errors(): GitOpsError[] {
    return [...this.#fileErrors, ...this.#documents.flatMap((d) => d.errors)];
  }

  /** True once an edit changed the text. */
  get modified(): boolean {
    return this.#modified;
  }

  /** The index of the first document whose object (or one of whose List items) matches. */
  findDocument(predicate: (obj: KubeObject) => boolean): number {
    return this.#documents.findIndex((d) => d.objects.some((o) => predicate(o)));
  }

  /**
   * Replaces the object of document `index` with a minimal edit of its text: comments and
   * layout of the document stay wherever the values they belong to stay, and no other
   * document changes. The new text is decoded again; if it is refused, nothing changes and
   * the problems are thrown.
   */
  setObject(index: number, obj: KubeObject, options: SetObjectOptions = {}): SetObjectResult {
    this.#assertEditable();
    const doc = this.#document(index);
    this.#assertObject(obj);
    const { frame } = doc;
    // The value as the file says it now, parsed afresh: callers may have mutated what they got.
    const before = this.#decoder.parseFrame(frame, { file: this.file });
    let text: string;
    let removedComments: RemovedComment[] = [];
    if (before.empty || before.errors.length > 0) {
      // Nothing to edit: keep the comments of an empty document and add the object after them.
      const kept = before.empty ? withFinalNewline(frame.text, this.#lineEnding()) : '';
      text = kept + this.#encode(obj);
    } else {
      try {
        if (this.contentType === 'json') {
          text = editJsonDocument(frame.text, before.value, obj).text;
        } else {
          const edit = editYamlDocument(frame.text, before.value, obj);
          text = edit.text;
          // The editor counts lines in the document; callers want lines of the file.
          removedComments = edit.removedComments.map((c) => ({ ...c, line: c.line + frame.startLine - 1 }));
          if (options.keepRemovedComments === true && removedComments.length > 0)
            text = keepComments(text, removedComments, this.#lineEnding());
        }
      } catch (err) {
        throw new GitOpsError(
          ErrorCodes.EditFailed,
          `cannot edit document ${index}${this.file !== undefined ? ` of ${this.file}` : ''}: ${(err as Error).message}`,
          { details: { file: this.file, document: index, ...positionInFile(frame, err) }, cause: err },
        );
      }
    }
    // A YAML document followed by another one (or a `...`) must end its last line.
    const followed = index < this.#frames.length - 1 || frame.terminator !== '';
    if (this.contentType === 'yaml' && followed) text = withFinalNewline(text, this.#lineEnding());
    this.#replace(index, { ...frame, text });
    return { removedComments };
  }

  /** Adds a document at the end, written in the file's own style; returns its index. */
  appendObject(obj: KubeObject): number {
    this.#assertEditable();
    this.#assertObject(obj);
    const eol = this.#lineEnding();
    const frames = this.#frames;
    const last = frames[frames.length - 1];
    const index = frames.length;
    if (this.contentType === 'json') {
      const compact = frames.length > 0 && frames.every((f) => !f.text.includes('\n'));
      const encoded = encodeJsonDocument(obj, { indent: compact ? 0 : 2, lineEnding: eol });
      const text = encoded.slice(0, encoded.length - eol.length);
      const separator = last !== undefined && !endsWithNewline(joinFrames([last])) ? eol : '';
      this.#insert(index, { ...blankFrame(index, 'json'), separator, text, terminator: eol });
      return index;
    }
    const text = this.#encode(obj);
    if (last !== undefined && last.text.trim() === '' && last.terminator === '') {
      // The file ends with an empty document (a trailing `---`): fill it instead of adding one.
      this.#replace(last.index, { ...last, text });
      return last.index;
    }
    let separator = '';
    if (last !== undefined) {
      separator = (endsWithNewline(joinFrames([last])) ? '' : eol) + '---' + eol;
    }
    this.#insert(index, { ...blankFrame(index, 'yaml'), separator, text });
    return index;
  }

  /** Removes document `index` with its separator; later documents move down by one. */
  removeObject(index: number): void {
    this.#assertEditable();
    const removed = this.#document(index).frame;
    const frames = [...this.#frames];
    frames.splice(index, 1);
    const next = frames[index];
    if (index === 0 && next !== undefined) frames[0] = { ...next, separator: firstSeparator(removed, next) };
    const documents = [...this.#documents];
    documents.splice(index, 1);
    this.#commit(frames, documents);
  }

  /** The file's text: the original bytes when nothing was edited. */
  toString(): string {
    return this.#modified ? joinFrames(this.#frames) : this.#original;
  }

  #decode(frame: Frame): ManifestDocument {
    try {
      return toManifestDocument(this.#decoder.decode(frame, { file: this.file }));
    } catch (err) {
      // A decoder made with throwOnError: its problem is kept like any other.
      const error = toGitOpsError(err).withDetails({ file: this.file, document: frame.index });
      return { index: frame.index, frame, object: undefined, objects: [], empty: false, errors: [error] };
    }
  }

  #document(index: number): ManifestDocument {
    const doc = Number.isInteger(index) ? this.#documents[index] : undefined;
    if (doc === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `${this.file ?? 'the file'} has no document ${index} (it has ${this.#documents.length})`,
        { details: { file: this.file, document: index } },
      );
    }
    return doc;
  }

  #assertEditable(): void {
    const problem = this.#fileErrors[0];
    if (problem !== undefined) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `${this.file ?? 'the file'} could not be split into documents, so it cannot be edited: ${problem.message}`,
        { details: problem.details, cause: problem },
      );
    }
  }

  #assertObject(obj: unknown): void {
    if (!isPlainObject(obj)) {
      throw new GitOpsError(ErrorCodes.BadRequest, 'only an object (a map) can be written as a document', {
        details: { file: this.file },
      });
    }
  }

  #encode(obj: KubeObject): string {
    const eol = this.#lineEnding();
    return this.contentType === 'json'
      ? encodeJsonDocument(obj, { lineEnding: eol })
      : encodeYamlDocument(obj, { lineEnding: eol, indentSequences: this.#indentsSequences() });
  }

  /** The file's line ending: the first one it uses, else `\n`. */
  #lineEnding(): '\n' | '\r\n' {
    const text = this.toString();
    const lf = text.indexOf('\n');
    return lf > 0 && text.charCodeAt(lf - 1) === 13 ? '\r\n' : '\n';
  }

  /** Whether the file writes list items indented under their key, judged by its first list. */
  #indentsSequences(): boolean {
    const match = /^( *)[^\s#-][^\r\n]*:[ \t]*\r?\n( *)- /m.exec(this.toString());
    if (match === null) return true;
    return (match[2] ?? '').length > (match[1] ?? '').length;
  }

  #replace(index: number, frame: Frame): void {
    const frames = [...this.#frames];
    frames[index] = frame;
    this.#commit(frames, this.#documents, index);
  }

  #insert(index: number, frame: Frame): void {
    const frames = [...this.#frames];
    frames.splice(index, 0, frame);
    const documents: (ManifestDocument | undefined)[] = [...this.#documents];
    documents.splice(index, 0, undefined);
    this.#commit(frames, documents, index);
  }

  /**
   * Makes `frames` the file's frames, with positions recomputed, decoding the `changed`
   * document again. When that document is refused, nothing is kept and its problems are thrown.
   */
  #commit(frames: Frame[], documents: readonly (ManifestDocument | undefined)[], changed?: number): void {
    const placed = reposition(frames);
    let fresh: ManifestDocument | undefined;
    if (changed !== undefined) {
      fresh = this.#decode(placed[changed] as Frame);
      if (fresh.errors.length > 0) {
        const first = fresh.errors[0] as GitOpsError;
        throw new GitOpsError(
          first.code,
          `the new document ${changed} would be refused: ${first.message}` +
            (fresh.errors.length > 1 ? ` (and ${fresh.errors.length - 1} more problem(s))` : ''),
          { details: first.details, causes: [...fresh.errors], cause: first },
        );
      }
    }
    this.#documents = placed.map((frame, i) => {
      const doc = documents[i];
      if (i === changed || doc === undefined) return fresh ?? this.#decode(frame);
      // Problems carry line numbers, which may have moved: decode those documents again.
      return doc.errors.length > 0 ? this.#decode(frame) : { ...doc, index: i, frame };
    });
    this.#frames = placed;
    this.#modified = true;
  }
}

/** Where an editor's error is in the file: its line and column in the document moved by the frame's start, else the frame's first line. */
function positionInFile(frame: Frame, err: unknown): { line: number; column?: number } {
  const { line, column } = isGitOpsError(err) ? err.details : {};
  if (typeof line !== 'number') return { line: frame.startLine };
  const inFile = { line: frame.startLine + line - 1 };
  if (typeof column !== 'number') return inFile;
  return { ...inFile, column: line === 1 ? frame.startColumn + column - 1 : column };
}

function toManifestDocument(decoded: DecodedDocument): ManifestDocument {
  const value = decoded.value;
  let object: KubeObject | undefined;
  if (decoded.errors.length === 0 && isPlainObject(value)) {
    object = isList(value) || decoded.objects.length !== 1 ? (value as KubeObject) : decoded.objects[0];
  }
  return {
    index: decoded.index,
    frame: decoded.frame,
    object,
    objects: decoded.objects,
    empty: decoded.empty,
    errors: decoded.errors,
  };
}

/**
 * The separator of the document that becomes first when the first one is removed. What
 * belongs to the file (a BOM, directives, blank lines) stays; the removed document's own
 * `---` line goes with it. When the file did not start with `---`, neither does it after.
 */
function firstSeparator(removed: Frame, next: Frame): string {
  if (removed.contentType === 'json') return removed.separator + next.separator;
  const sep = removed.separator;
  const bom = sep.startsWith('\uFEFF') ? '\uFEFF' : '';
  const body = sep.slice(bom.length);
  const lastLineStart = body.lastIndexOf('\n', body.length - 2) + 1;
  const hadMarker = body.startsWith('---', lastLineStart);
  const prefix = bom + (hadMarker ? body.slice(0, lastLineStart) : body);
  if (hadMarker || !/^---[ \t]*\r?\n$/.test(next.separator)) return prefix + next.separator;
  return prefix;
}

function blankFrame(index: number, contentType: ContentType): Frame {
  return {
    index,
    contentType,
    separator: '',
    text: '',
    terminator: '',
    startLine: 1,
    startColumn: 1,
    startOffset: 0,
  };
}

function endsWithNewline(text: string): boolean {
  return text === '' || text.endsWith('\n');
}

/**
 * The document with the removed comments at its top, each as `# <field>: <comment>` under
 * REMOVED_COMMENTS_HEADER; the block of an earlier edit grows instead of repeating its header.
 */
function keepComments(text: string, comments: readonly RemovedComment[], eol: string): string {
  const entries = comments.map((c) => `# ${c.path || '.'}: ${c.text}${eol}`).join('');
  if (!text.startsWith(REMOVED_COMMENTS_HEADER)) return `${REMOVED_COMMENTS_HEADER}${eol}${entries}${text}`;
  // After the header line and the entries below it.
  let at = text.indexOf('\n') + 1;
  while (at > 0 && at < text.length && text.startsWith('# .', at)) at = text.indexOf('\n', at) + 1;
  if (at === 0) return `${text}${eol}${entries}`;
  return text.slice(0, at) + entries + text.slice(at);
}

function withFinalNewline(text: string, eol: string): string {
  return endsWithNewline(text) ? text : text + eol;
}

/** The frames with their index, line, column and offset recomputed from their texts. */
function reposition(frames: readonly Frame[]): Frame[] {
  let offset = 0;
  let line = 1;
  let lineStart = 0;
  const advance = (piece: string): void => {
    for (let i = piece.indexOf('\n'); i !== -1; i = piece.indexOf('\n', i + 1)) {
      line++;
      lineStart = offset + i + 1;
    }
    offset += piece.length;
  };
  const bom = frames[0]?.separator.startsWith('\uFEFF') === true ? 1 : 0;
  return frames.map((frame, index) => {
    advance(frame.separator);
    // As the splitter counts: a BOM takes no column.
    const column = offset - lineStart + 1 - (line === 1 ? bom : 0);
    const placed: Frame = { ...frame, index, startLine: line, startColumn: column, startOffset: offset };
    advance(frame.text);
    advance(frame.terminator);
    return placed;
  });
}
