/**
 * The decoder: frames to Kubernetes objects, strictly by default. Reading is on the hot path
 * (every file of a repository, every revision), so each frame is parsed once with js-yaml under
 * Kubernetes' YAML 1.1 rules; the slower `yaml` package is used only to find the line and
 * column of a problem, after one is known. Problems are collected, never thrown untyped.
 */
import jsYaml from 'js-yaml';
import { yaml } from '../shared/yaml-lib.js';
import type { Document, Node as YamlNode } from 'yaml';
import {
  ErrorCodes,
  GitOpsError,
  gvkOf,
  isList,
  isPlainObject,
  formatFieldPath,
  keyOf,
  objectKeyToString,
  parseFieldPath,
  parseJsonExact,
  stringifyJson,
  toGitOpsError,
  validateUnstructured,
} from '../../runtime/index.js';
import type {
  ErrorCode,
  ErrorDetails,
  FieldPathSegment,
  GroupVersionKind,
  KubeObject,
  Scheme,
} from '../../runtime/index.js';
import {
  contentTypeOf,
  createFrameSplitter,
  finish,
  readFrames,
  sniffContentType,
} from '../frames/frames.js';
import type { ContentType, Frame, FrameSource } from '../frames/frames.js';
import { countAliases, mayHaveAliases, resolveLimits } from '../frames/limits.js';
import type { Limits } from '../frames/limits.js';
import { jsonErrorOffset } from '../shared/json-tree.js';
import { SourceLines } from '../shared/lines.js';
import { FieldLocator, positionAt } from '../shared/locate.js';
import { countJsonKeys, jsonKeyAt } from '../shared/json-tokens.js';
import { findNonFinite, KUBE_YAML_SCHEMA, mayHaveNonFinite } from '../shared/yaml11.js';

export interface DecoderOptions {
  /** Refuse duplicate keys and fields the schema does not know. Default true. */
  strict?: boolean;
  /** Apply the scheme's defaults to each object. Default false. */
  applyDefaults?: boolean;
  /** Convert each object of a known kind to this version of its group, or to the hub version. */
  convertTo?: string;
  /** What to do with kinds the scheme does not know: keep them as plain objects, or refuse them. */
  unknownKinds?: 'unstructured' | 'error';
  /** Kinds, their schemas, defaults and conversions; without one every kind is unstructured. */
  scheme?: Scheme;
  /** File name for messages. */
  file?: string;
  /** Expand `List` and `<Kind>List` objects into their items. Default true. */
  expandLists?: boolean;
  limits?: Partial<Limits>;
  /** Throw the first problem instead of returning them all. Default false. */
  throwOnError?: boolean;
}

/** Per-call context that overrides the decoder's options. */
export interface DecodeContext {
  file?: string;
  contentType?: ContentType;
  signal?: AbortSignal;
}

/** One decoded frame. */
export interface DecodedDocument {
  readonly index: number;
  readonly frame: Frame;
  /** The value as parsed (before defaults or conversion); undefined for a comment-only document. */
  readonly value: unknown;
  /** True when the document held no value at all (only comments or blank lines). */
  readonly empty: boolean;
  /** True when the document is a List whose items became `objects`. */
  readonly isList: boolean;
  /** The accepted objects: one, the items of a List, or none. */
  readonly objects: KubeObject[];
  readonly errors: GitOpsError[];
}

export interface DecodeResult {
  objects: KubeObject[];
  documents: DecodedDocument[];
  errors: GitOpsError[];
}

/** The value of a frame as parsed, or the problems that kept it from being parsed. */
export interface ParsedFrame {
  value: unknown;
  empty: boolean;
  errors: GitOpsError[];
}

const OBJECT_KEY = '[object Object]';
const EMPTY_LINE = /^[ \t]*(?:#.*|\.\.\.[ \t]*(?:#.*)?)?\r?$/;

export class Decoder {
  readonly strict: boolean;
  readonly applyDefaults: boolean;
  readonly convertTo: string | undefined;
  readonly unknownKinds: 'unstructured' | 'error';
  readonly scheme: Scheme | undefined;
  readonly file: string | undefined;
  readonly expandLists: boolean;
  readonly limits: Limits;
  readonly throwOnError: boolean;

  constructor(options: DecoderOptions = {}) {
    this.strict = options.strict ?? true;
    this.applyDefaults = options.applyDefaults ?? false;
    this.convertTo = options.convertTo;
    this.unknownKinds = options.unknownKinds ?? 'unstructured';
    this.scheme = options.scheme;
    this.file = options.file;
    this.expandLists = options.expandLists ?? true;
    this.limits = resolveLimits(options.limits);
    this.throwOnError = options.throwOnError ?? false;
    if ((this.applyDefaults || this.convertTo !== undefined) && this.scheme === undefined) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        'applyDefaults and convertTo need a scheme (the scheme option)',
      );
    }
  }

  /** Decodes a whole text (sync). The content type is the context's, the file's extension's, or sniffed. */
  decodeText(text: string, context: DecodeContext = {}): DecodeResult {
    const file = context.file ?? this.file;
    const result: DecodeResult = { objects: [], documents: [], errors: [] };
    const contentType =
      context.contentType ??
      (file !== undefined ? contentTypeOf(file) : undefined) ??
      sniffContentType(text) ??
      'yaml';
    const splitter = createFrameSplitter(contentType, { file, limits: this.limits });
    try {
      // Frames before a passed limit are decoded; the limit is the last problem.
      for (const frame of splitter.push(text)) this.collect(result, this.decode(frame, { file }));
      for (const frame of finish(splitter)) this.collect(result, this.decode(frame, { file }));
    } catch (err) {
      if (this.throwOnError) throw err;
      result.errors.push(toGitOpsError(err).withDetails({ file }));
    }
    return this.settle(result);
  }

  /** Decodes every frame of a source, collecting all objects and problems. */
  async decodeAll(source: FrameSource, context: DecodeContext = {}): Promise<DecodeResult> {
    const result: DecodeResult = { objects: [], documents: [], errors: [] };
    try {
      for await (const doc of this.documentsOf(source, context)) this.collect(result, doc);
    } catch (err) {
      result.errors.push(toGitOpsError(err).withDetails({ file: context.file ?? this.file }));
    }
    return this.settle(result);
  }

  /**
   * Decodes a source one document at a time, for streams too large to hold. Problems of a
   * document are on it; a problem of the stream itself (a limit, a read error) is thrown.
   */
  async *decodeStream(source: FrameSource, context: DecodeContext = {}): AsyncGenerator<DecodedDocument> {
    for await (const doc of this.documentsOf(source, context)) {
      if (this.throwOnError && doc.errors[0] !== undefined) throw doc.errors[0];
      yield doc;
    }
  }

  private async *documentsOf(source: FrameSource, context: DecodeContext): AsyncGenerator<DecodedDocument> {
    const file = context.file ?? this.file;
    const frames = readFrames(source, { ...context, file, limits: this.limits });
    for await (const frame of frames) yield this.decode(frame, { file });
  }

  /** Decodes one frame into its objects. */
  decode(frame: Frame, context: DecodeContext = {}): DecodedDocument {
    const file = context.file ?? this.file;
    const locator = new FrameLocator(frame, file);
    const parsed = this.parseFrame(frame, context, locator);
    const doc = {
      index: frame.index,
      frame,
      value: parsed.value,
      empty: parsed.empty,
      isList: false,
      objects: [] as KubeObject[],
      errors: parsed.errors,
    };
    if (parsed.errors.length > 0 || parsed.empty) return doc;
    const { value } = parsed;
    if (!isPlainObject(value)) {
      doc.errors.push(
        locator.error(
          ErrorCodes.NotAnObject,
          `expected a Kubernetes object (a map with apiVersion and kind), found ${describe(value)}`,
          [],
        ),
      );
    } else if (this.expandLists && isList(value)) {
      doc.isList = true;
      value.items.forEach((item, i) => {
        if (!isPlainObject(item)) {
          doc.errors.push(
            locator.error(ErrorCodes.NotAnObject, `List item ${i} is ${describe(item)}, not an object`, [
              'items',
              i,
            ]),
          );
          return;
        }
        this.accept(item as KubeObject, ['items', i], locator, doc);
      });
    } else {
      this.accept(value as KubeObject, [], locator, doc);
    }
    if (this.throwOnError && doc.errors[0] !== undefined) throw doc.errors[0];
    return doc;
  }

  /**
   * Parses a frame's text to its plain value: syntax, duplicate keys (when strict), keys that
   * are maps or lists, and the alias limit. No object checks.
   */
  parseFrame(frame: Frame, context: DecodeContext = {}, locator?: FrameLocator): ParsedFrame {
    const where = locator ?? new FrameLocator(frame, context.file ?? this.file);
    return frame.contentType === 'json' ? this.parseJson(frame, where) : this.parseYaml(frame, where);
  }

  private parseYaml(frame: Frame, locator: FrameLocator): ParsedFrame {
    // Directives (`%TAG`) live in the separator; they change how the text reads, so keep them.
    const withDirectives = /^%/m.test(frame.separator);
    const source = withDirectives ? frame.separator + frame.text : frame.text;
    let value: unknown;
    try {
      value = jsYaml.load(source, { schema: KUBE_YAML_SCHEMA, json: !this.strict });
    } catch (err) {
      return { value: undefined, empty: false, errors: [locator.yamlError(err, withDirectives)] };
    }
    if (value === undefined || value === null) {
      if (isBlankYaml(frame.text)) return { value: undefined, empty: true, errors: [] };
      return { value, empty: false, errors: [] };
    }
    if (typeof value !== 'object') return { value, empty: false, errors: [] };
    const text = frame.text;
    if (mayHaveAliases(text)) {
      const report = countAliases(value, this.limits.maxAliases);
      if (report.recursive || report.aliases > this.limits.maxAliases) {
        const message = report.recursive
          ? 'a node contains an alias to itself; such a value has no end and cannot be a Kubernetes object'
          : `aliases expand to more than ${this.limits.maxAliases} nodes (maxAliases); ` +
            'this looks like a "billion laughs" document, write the values out instead';
        const segments = report.path !== undefined ? safeParsePath(report.path) : [];
        const error = locator.error(ErrorCodes.AliasLimit, message, segments);
        return { value: undefined, empty: false, errors: [error] };
      }
    }
    if (mayHaveNonFinite(text)) {
      const at = findNonFinite(value);
      if (at !== undefined) {
        const error = locator.error(
          ErrorCodes.UnsupportedValue,
          '.nan and .inf are numbers JSON cannot carry (the API server refuses them); quote the value to keep it as a string',
          safeParsePath(at),
        );
        return { value: undefined, empty: false, errors: [error] };
      }
    }
    const hint = complexKeyHint(text);
    if ((hint === 'map' && hasObjectKey(value)) || hint === 'other') {
      const problem = locator.complexKey();
      if (problem !== undefined) return { value: undefined, empty: false, errors: [problem] };
    }
    return { value, empty: false, errors: [] };
  }

  private parseJson(frame: Frame, locator: FrameLocator): ParsedFrame {
    const { text } = frame;
    if (text.trim() === '') return { value: undefined, empty: true, errors: [] };
    let value: unknown;
    try {
      value = parseJsonExact(text);
    } catch (err) {
      return { value: undefined, empty: false, errors: [locator.jsonError(err)] };
    }
    // JSON.parse keeps the last of duplicate keys without a word; compare the key counts.
    if (
      this.strict &&
      typeof value === 'object' &&
      value !== null &&
      countJsonKeys(text) !== countKeys(value)
    ) {
      const problem = locator.duplicateKey();
      if (problem !== undefined) return { value: undefined, empty: false, errors: [problem] };
    }
    return { value, empty: false, errors: [] };
  }

  /** Validates one object; defaults and converts it when it is valid. */
  private accept(
    obj: KubeObject,
    prefix: FieldPathSegment[],
    locator: FrameLocator,
    doc: { objects: KubeObject[]; errors: GitOpsError[] },
  ): void {
    const { scheme } = this;
    let gvk: GroupVersionKind | undefined;
    // The kind matters only to a scheme or to refuse unknown kinds; validation checks it anyway.
    if (scheme !== undefined || this.unknownKinds === 'error') {
      try {
        gvk = gvkOf(obj);
      } catch {
        // Reported below by the validation, with its field.
      }
    }
    const known = gvk !== undefined && scheme !== undefined && scheme.has(gvk);
    let problems: GitOpsError[];
    try {
      // The scheme's validate includes validateUnstructured's checks, and the schema when it has one.
      problems =
        scheme !== undefined
          ? scheme.validate(obj, { strict: this.strict })
          : validateUnstructured(obj, { strict: this.strict });
    } catch (err) {
      problems = [toGitOpsError(err, ErrorCodes.Invalid)];
    }
    if (!known && gvk !== undefined && this.unknownKinds === 'error') problems.unshift(this.unknownKind(gvk));
    if (problems.length > 0) {
      const object = objectKeyString(obj);
      for (const problem of problems) doc.errors.push(locator.place(problem, prefix, object));
      return;
    }
    let result = obj;
    if (known && scheme !== undefined && (this.applyDefaults || this.convertTo !== undefined)) {
      try {
        // The scheme returns copies, so the document's value stays what the file says.
        if (this.applyDefaults) result = scheme.default(result);
        if (this.convertTo === 'hub') result = scheme.convertToHub(result);
        else if (this.convertTo !== undefined) result = scheme.convert(result, this.convertTo);
      } catch (err) {
        doc.errors.push(
          locator.place(toGitOpsError(err, ErrorCodes.ConversionFailed), prefix, objectKeyString(obj)),
        );
        return;
      }
    }
    doc.objects.push(result);
  }

  private unknownKind(gvk: GroupVersionKind): GitOpsError {
    const apiVersion = gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
    const kindKnown = this.scheme?.lookupKind(gvk.group, gvk.kind) !== undefined;
    const code = kindKnown ? ErrorCodes.UnknownVersion : ErrorCodes.UnknownKind;
    const message = kindKnown
      ? `${gvk.kind} has no version ${JSON.stringify(gvk.version)} in the scheme; use one of its registered versions`
      : `no kind ${JSON.stringify(gvk.kind)} is registered for apiVersion ${JSON.stringify(apiVersion)}; ` +
        'register its type or CRD in the scheme, or decode with unknownKinds: "unstructured"';
    return new GitOpsError(code, message, { details: { field: kindKnown ? '.apiVersion' : '.kind' } });
  }

  private collect(result: DecodeResult, doc: DecodedDocument): void {
    result.documents.push(doc);
    for (const obj of doc.objects) result.objects.push(obj);
    for (const err of doc.errors) result.errors.push(err);
  }

  private settle(result: DecodeResult): DecodeResult {
    if (this.throwOnError && result.errors[0] !== undefined) throw result.errors[0];
    return result;
  }
}

/**
 * Turns problems of one frame into errors with a file, a document index and a line:column.
 * Positions are looked up only on error, through one FieldLocator per frame (the editor's lazy
 * block scanner, or the `yaml` package's parse where the scanner cannot read the text).
 */
export class FrameLocator {
  private doc: Document | undefined;
  private lines: SourceLines | undefined;
  private locator: FieldLocator | undefined;

  constructor(
    readonly frame: Frame,
    readonly file: string | undefined,
  ) {}

  /** A new error at the node `segments` leads to (or the deepest part of it that exists). */
  error(code: ErrorCode, message: string, segments: FieldPathSegment[], cause?: unknown): GitOpsError {
    return new GitOpsError(code, message, {
      details: { ...this.details(), ...this.fieldPosition(segments, code) },
      cause,
    });
  }

  /** `problem` (from a scheme, with a field relative to the object) placed in this frame. */
  place(problem: GitOpsError, prefix: FieldPathSegment[], object: string | undefined): GitOpsError {
    const segments = [...prefix, ...fieldSegmentsOf(problem)];
    const details: ErrorDetails = { ...this.details(), ...this.fieldPosition(segments, problem.code) };
    if (prefix.length > 0 && typeof prefix[1] === 'number') details.item = prefix[1];
    if (object !== undefined) details.object = object;
    if (problem.details.field !== undefined && prefix.length > 0) {
      details.field = formatFieldPath(prefix) + String(problem.details.field);
      details.fieldSegments = segments;
    }
    // Where the frame knows better (file, line, the field's full path), its details win.
    return problem.withDetails({ ...problem.details, ...details });
  }

  yamlError(err: unknown, withDirectives: boolean): GitOpsError {
    const mark = (err as { mark?: { line: number; column: number; position: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    const details = this.details();
    if (mark !== undefined && withDirectives) {
      // The parsed text began at the separator, which starts a line of its own.
      const firstLine = this.frame.startLine - countNewlines(this.frame.separator);
      Object.assign(details, { line: firstLine + mark.line, column: mark.column + 1 });
    } else if (mark !== undefined) {
      Object.assign(details, this.absolute(mark.line, mark.column));
    } else {
      Object.assign(details, this.absolute(0, 0));
    }
    if (/duplicated mapping key/.test(reason)) {
      const source = withDirectives ? this.frame.separator + this.frame.text : this.frame.text;
      const key = mark !== undefined ? keyAt(source, mark.position) : undefined;
      return new GitOpsError(
        ErrorCodes.DuplicateKey,
        `duplicate key${key !== undefined ? ` ${JSON.stringify(key)}` : ''}: a key may appear only once in a map ` +
          '(the API server would keep only one of them); remove or rename one',
        { details: key !== undefined ? { ...details, key } : details, cause: err },
      );
    }
    return new GitOpsError(ErrorCodes.YamlSyntax, `invalid YAML: ${reason}`, { details, cause: err });
  }

  jsonError(err: unknown): GitOpsError {
    const message = (err as Error).message;
    const text = this.frame.text;
    const position = /position (\d+)/.exec(message);
    const offset = position !== null ? Number(position[1]) : jsonErrorOffset(text);
    return new GitOpsError(ErrorCodes.JsonSyntax, `invalid JSON: ${message}`, {
      details: { ...this.details(), ...this.offsetPosition(offset) },
      cause: err,
    });
  }

  /** The first duplicate key of a JSON frame, found by the `yaml` package (slow path). */
  duplicateKey(): GitOpsError | undefined {
    const doc = yaml().parseDocument(this.frame.text, { uniqueKeys: true });
    const dup = doc.errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (dup === undefined) return undefined;
    const key = jsonKeyAt(this.frame.text, dup.pos[0]);
    return new GitOpsError(
      ErrorCodes.DuplicateKey,
      `duplicate key${key !== undefined ? ` ${JSON.stringify(key)}` : ''}: a key may appear only once in an object ` +
        '(JSON readers silently keep the last one); remove or rename one',
      { details: { ...this.details(), ...this.offsetPosition(dup.pos[0]), key } },
    );
  }

  /** A key that is a map or a list, which no Kubernetes object can hold (e.g. `{{placeholder}}`). */
  complexKey(): GitOpsError | undefined {
    const doc = this.parsed();
    let found: YamlNode | undefined;
    const visit = (node: unknown): void => {
      if (found !== undefined) return;
      if (yaml().isMap(node)) {
        for (const pair of node.items) {
          const key = yaml().isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
          if (yaml().isMap(key) || yaml().isSeq(key)) {
            found = pair.key as YamlNode;
            return;
          }
          visit(pair.value);
        }
      } else if (yaml().isSeq(node)) {
        for (const item of node.items) visit(item);
      }
    };
    visit(doc.contents);
    if (found === undefined || found.range == null) return undefined;
    const start = found.range[0];
    const text = this.frame.text;
    const lineEnd = text.indexOf('\n', start);
    const line = text
      .slice(text.lastIndexOf('\n', start - 1) + 1, lineEnd === -1 ? undefined : lineEnd)
      .trim();
    const template = line.includes('{{') ? '; it looks like an unrendered template placeholder' : '';
    return new GitOpsError(
      ErrorCodes.YamlSyntax,
      `a map key is itself a map or a list (${JSON.stringify(line.slice(0, 60))})${template}; ` +
        'Kubernetes objects only have string keys: quote the value or render the template first',
      { details: { ...this.details(), ...this.offsetPosition(start) } },
    );
  }

  private details(): ErrorDetails {
    const details: ErrorDetails = { document: this.frame.index };
    if (this.file !== undefined) details.file = this.file;
    return details;
  }

  /** 0-based line and column inside the frame text to 1-based ones in the source. */
  private absolute(line: number, column: number): { line: number; column: number } {
    return {
      line: this.frame.startLine + line,
      column: line === 0 ? this.frame.startColumn + column : column + 1,
    };
  }

  private offsetPosition(offset: number): { line: number; column: number } {
    const { line, column } = positionAt(this.textLines(), offset);
    return this.absolute(line - 1, column - 1);
  }

  private textLines(): SourceLines {
    this.lines ??= new SourceLines(this.frame.text);
    return this.lines;
  }

  private parsed(): Document {
    this.doc ??= yaml().parseDocument(this.frame.text, { uniqueKeys: false, version: '1.1' });
    return this.doc;
  }

  /** Where the field at `segments` is written, or the deepest part of its path that is. */
  private fieldPosition(segments: FieldPathSegment[], code: string): { line: number; column: number } {
    try {
      const { frame } = this;
      this.locator ??= new FieldLocator(frame.text, frame.contentType, this.textLines());
      // A field is shown at its key for unknown or duplicate fields, else at its value.
      const prefer = code === ErrorCodes.UnknownField || code === ErrorCodes.DuplicateKey ? 'key' : 'value';
      const { line, column } = this.locator.locate(segments, prefer);
      return this.absolute(line - 1, column - 1);
    } catch {
      return this.absolute(0, 0);
    }
  }
}

function fieldSegmentsOf(problem: GitOpsError): FieldPathSegment[] {
  const segments = problem.details.fieldSegments;
  if (Array.isArray(segments)) return segments as FieldPathSegment[];
  const field = problem.details.field;
  return typeof field === 'string' ? safeParsePath(field) : [];
}

function safeParsePath(path: string): FieldPathSegment[] {
  try {
    return parseFieldPath(path);
  } catch {
    return [];
  }
}

function objectKeyString(obj: unknown): string | undefined {
  try {
    return objectKeyToString(keyOf(obj));
  } catch {
    return undefined;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  // stringifyJson: a big integer is a bigint, which JSON.stringify refuses.
  return `a ${typeof value} (${stringifyJson(value).slice(0, 40)})`;
}

/** True when a YAML text holds only blank lines, comments and `...` markers. */
export function isBlankYaml(text: string): boolean {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (!EMPTY_LINE.test(text.slice(start, end))) return false;
    start = end + 1;
  }
  return true;
}

/**
 * Whether a text may hold a key that is not a scalar. 'map': a flow map right after `{`, `[`
 * or `,`, or a flow map before `:` (`{{placeholder}}`, `{a: 1}: x`), which js-yaml silently
 * turns into the key "[object Object]"; 'other': a list before `:` or an explicit `? ` key,
 * which js-yaml joins into a string. A scan for characters, not a parse: it only decides
 * whether the value or the text gets a closer look.
 */
function complexKeyHint(text: string): 'map' | 'other' | undefined {
  // An explicit key `? ` starts a line (maybe after `- `) or follows `{`, `[` or `,`; a `?`
  // inside a string (`a ? b : c`) follows something else.
  for (let i = text.indexOf('?'); i !== -1; i = text.indexOf('?', i + 1)) {
    const after = text.charCodeAt(i + 1);
    if (!(Number.isNaN(after) || after === 32 || after === 9 || after === 10 || after === 13)) continue;
    let j = i - 1;
    let before = text.charCodeAt(j);
    while (before === 32 || before === 9) before = text.charCodeAt(--j);
    if (
      Number.isNaN(before) ||
      before === 10 ||
      before === 123 ||
      before === 91 ||
      before === 44 ||
      before === 45
    ) {
      return 'other';
    }
  }
  for (let i = text.indexOf(']'); i !== -1; i = text.indexOf(']', i + 1)) {
    if (colonFollows(text, i + 1)) return 'other';
  }
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    let j = i - 1;
    let c = text.charCodeAt(j);
    while (c === 32 || c === 9 || c === 10 || c === 13) c = text.charCodeAt(--j);
    if (c === 123 || c === 91 || c === 44) return 'map';
  }
  for (let i = text.indexOf('}'); i !== -1; i = text.indexOf('}', i + 1)) {
    if (colonFollows(text, i + 1)) return 'map';
  }
  return undefined;
}

/** True when `text` at `i` is (after spaces) a `:` that ends a key: followed by a blank or the end. */
function colonFollows(text: string, i: number): boolean {
  let c = text.charCodeAt(i);
  while (c === 32 || c === 9) c = text.charCodeAt(++i);
  if (c !== 58) return false;
  const next = text.charCodeAt(i + 1);
  return Number.isNaN(next) || next === 32 || next === 9 || next === 10 || next === 13;
}

function hasObjectKey(value: unknown): boolean {
  const seen = new Set<object>();
  const visit = (node: unknown): boolean => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return false;
    seen.add(node);
    if (Array.isArray(node)) return node.some(visit);
    for (const key in node) {
      if (key === OBJECT_KEY || key.includes(OBJECT_KEY)) return true;
      if (visit((node as Record<string, unknown>)[key])) return true;
    }
    return false;
  };
  return visit(value);
}

function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countKeys(item);
    return count;
  }
  for (const key of Object.keys(value)) {
    count += 1 + countKeys((value as Record<string, unknown>)[key]);
  }
  return count;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The YAML key written at `offset` (a duplicate's position), unquoted when it was quoted. */
function keyAt(text: string, offset: number): string | undefined {
  const match = /^\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#\r\n]+?)\s*:/.exec(
    text.slice(offset, offset + 300),
  );
  if (match?.[1] === undefined) return undefined;
  const raw = match[1];
  if (raw.startsWith('"')) {
    try {
      return JSON.parse(raw) as string;
    } catch {
      return raw;
    }
  }
  if (raw.startsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
  return raw;
}
