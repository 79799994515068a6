/**
 * The fuzz targets (issue 18): frames, the decoder and the lossless editor, each a generator
 * of inputs and a check that throws when an invariant breaks. test/fuzz/*.test.ts run a few
 * hundred cases of each in `npm test`; scripts/fuzz.ts runs as many as asked
 * (`npm run fuzz -- --cases N --target NAME`) and prints a shrunk reproducer.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import {
  Decoder,
  ManifestFile,
  createFrameSplitter,
  encodeJson,
  encodeJsonDocument,
  encodeYaml,
  encodeYamlDocument,
  readFrames,
  splitFrames,
} from '../../src/serializer/index.js';
import type { ContentType, Frame } from '../../src/serializer/index.js';
import {
  hostileText,
  integerValue,
  jsonishText,
  kubeObject,
  trickyString,
  yamlishText,
} from './arbitraries.js';
import { writeCommentedYaml } from './commented-yaml.js';
import type { Path } from './commented-yaml.js';

export interface FuzzTarget<T> {
  readonly name: 'frames' | 'decoder' | 'editor';
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws (an assertion error) when an invariant breaks. */
  check(input: T): void | Promise<void>;
  readonly async: boolean;
}

/** A broken invariant (thrown by checks; anything else thrown is a crash of the code under test). */
export class InvariantBroken extends Error {
  override name = 'InvariantBroken';
}

function ensure(condition: boolean, message: string, details?: unknown): asserts condition {
  if (!condition) {
    const extra = details === undefined ? '' : `: ${fc.stringify(details)}`;
    throw new InvariantBroken(`${message}${extra}`);
  }
}

/**
 * The value with every map as a plain object (generators make some without a prototype), and
 * an integer-valued number beyond ±(2^53 - 1) as the bigint its shortest text means: numbers
 * are written as JavaScript prints them, and the decoder reads such integers exactly, as
 * bigints, by design (src/serializer/yaml11.ts); the bigint converts back to the same number.
 */
function plain(value: unknown): unknown {
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    !Number.isSafeInteger(value) &&
    Math.abs(value) < 1e21
  )
    return BigInt(String(value));
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function ensureEqual(actual: unknown, expected: unknown, message: string): void {
  if (!isDeepStrictEqual(plain(actual), plain(expected))) {
    throw new InvariantBroken(
      `${message}\n  got:      ${fc.stringify(actual)}\n  expected: ${fc.stringify(expected)}`,
    );
  }
}

// ---- frames ------------------------------------------------------------------------------

export interface FramesInput {
  contentType: ContentType;
  text: string;
  /** Cut points, as fractions of the length (of the text, then of its UTF-8 bytes). */
  cuts: number[];
  maxFrameBytes: number;
  maxFrames: number;
}

const UNLIMITED = { maxFrameBytes: 1 << 30, maxFrames: 1 << 30 };

function piecesAt<T extends { length: number; slice(a: number, b: number): T }>(
  whole: T,
  cuts: number[],
): T[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * whole.length)))].sort((a, b) => a - b);
  const pieces: T[] = [];
  let at = 0;
  for (const p of [...points, whole.length]) {
    pieces.push(whole.slice(at, p));
    at = p;
  }
  return pieces;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

async function checkFrames(input: FramesInput): Promise<void> {
  const { contentType, text } = input;
  const frames = splitFrames(text, { contentType, limits: UNLIMITED });
  ensureEqual(
    frames.map((f) => f.separator + f.text + f.terminator).join(''),
    text,
    'frames re-assemble the text',
  );
  frames.forEach((f, i) => {
    ensure(f.index === i, 'frames are numbered in order', { index: f.index, i });
    // An empty text has no position of its own (e.g. after a last `---` without a line break).
    if (f.text === '') return;
    ensure(
      text.slice(f.startOffset, f.startOffset + f.text.length) === f.text,
      'startOffset points at the text',
      f,
    );
    const before = text.slice(0, f.startOffset);
    ensure(f.startLine === before.split('\n').length, 'startLine is the line of the text', f);
    const lineStart = before.lastIndexOf('\n') + 1;
    const bom = lineStart === 0 && text.startsWith('\ufeff') && f.startOffset > 0 ? 1 : 0;
    ensure(f.startColumn === f.startOffset - lineStart + 1 - bom, 'startColumn is the column of the text', f);
  });

  // Any cutting of the text gives the same frames.
  const splitter = createFrameSplitter(contentType, { limits: UNLIMITED });
  const chunked: Frame[] = [];
  for (const piece of piecesAt(text, input.cuts)) chunked.push(...splitter.push(piece));
  chunked.push(...splitter.end());
  ensureEqual(chunked, frames, 'frames from string chunks equal frames from the whole text');

  // Bytes cut anywhere (inside a character too) give the same frames.
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.toString('utf8') === text) {
    const source = (async function* () {
      for (const piece of piecesAt(bytes, input.cuts)) yield new Uint8Array(piece);
    })();
    const read: Frame[] = [];
    for await (const f of readFrames(source, { contentType, limits: UNLIMITED })) read.push(f);
    ensureEqual(read, frames, 'frames from byte chunks equal frames from the whole text');
  }

  // Limits: either every frame is within them, or a typed error comes after the good frames.
  const limits = { maxFrameBytes: input.maxFrameBytes, maxFrames: input.maxFrames };
  const limited = createFrameSplitter(contentType, { limits });
  const got: Frame[] = [];
  let failure: unknown;
  try {
    for (const piece of piecesAt(text, input.cuts)) got.push(...limited.push(piece));
    got.push(...limited.end());
    limited.end(); // throws a limit passed in the last frames
  } catch (err) {
    failure = err;
  }
  ensureEqual(got, frames.slice(0, got.length), 'frames before a limit are the same frames');
  if (failure === undefined) {
    ensure(got.length === frames.length, 'without an error every frame comes');
    ensure(frames.length <= input.maxFrames, 'more frames than maxFrames are refused');
    for (const f of frames)
      ensure(utf8Bytes(f.text) <= input.maxFrameBytes, 'a frame over maxFrameBytes is refused', f);
  } else {
    ensure(failure instanceof GitOpsError, 'a limit is a GitOpsError', String(failure));
    if (failure.code === ErrorCodes.TooManyFrames)
      ensure(frames.length > input.maxFrames, 'TooManyFrames only when there are');
    else {
      ensure(
        failure.code === ErrorCodes.FrameTooLarge,
        'a limit is FrameTooLarge or TooManyFrames',
        failure.code,
      );
      ensure(
        frames.some((f) => utf8Bytes(f.separator + f.text + f.terminator) > input.maxFrameBytes),
        'FrameTooLarge only when a frame is',
      );
    }
  }
}

export const framesTarget: FuzzTarget<FramesInput> = {
  name: 'frames',
  async: true,
  arbitrary: fc.oneof(fc.constant('yaml' as const), fc.constant('json' as const)).chain((contentType) =>
    fc.record({
      contentType: fc.constant(contentType),
      text: fc.oneof(
        { weight: 4, arbitrary: contentType === 'yaml' ? yamlishText : jsonishText },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
      ),
      cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
      maxFrameBytes: fc.integer({ min: 1, max: 120 }),
      maxFrames: fc.integer({ min: 1, max: 6 }),
    }),
  ),
  check: checkFrames,
};

// ---- decoder -----------------------------------------------------------------------------

export type DecoderInput =
  | {
      kind: 'text';
      text: string;
      contentType: ContentType | undefined;
      throwOnError: boolean;
      maxAliases: number;
    }
  | { kind: 'roundtrip'; objects: Record<string, unknown>[]; format: 'yaml' | 'json'; indent: number };

function checkDecoder(input: DecoderInput): void {
  if (input.kind === 'text') {
    const decoder = new Decoder({
      throwOnError: input.throwOnError,
      limits: { maxAliases: input.maxAliases },
    });
    let result;
    try {
      result = decoder.decodeText(input.text, { contentType: input.contentType });
    } catch (err) {
      // Only a decoder told to throw may, and only a typed error.
      ensure(input.throwOnError, 'decodeText threw without throwOnError', String(err));
      if (!(err instanceof GitOpsError)) throw err;
      return;
    }
    for (const error of result.errors) {
      if (!(error instanceof GitOpsError)) throw error;
      ensure(typeof error.message === 'string' && error.message !== '', 'an error has a message');
    }
    for (const obj of result.objects) {
      ensure(typeof obj === 'object' && obj !== null && !Array.isArray(obj), 'an object is a map', obj);
      ensure(
        typeof obj.apiVersion === 'string' && typeof obj.kind === 'string',
        'an object has apiVersion and kind',
        obj,
      );
    }
    return;
  }
  const { objects, format, indent } = input;
  const text =
    objects.length === 1
      ? format === 'yaml'
        ? encodeYamlDocument(objects[0], { indent })
        : encodeJsonDocument(objects[0], { indent })
      : format === 'yaml'
        ? encodeYaml(objects, { indent })
        : encodeJson(objects, { indent });
  const result = new Decoder().decodeText(text, { contentType: format });
  ensure(result.errors.length === 0, 'an encoded object decodes without problems', {
    text,
    errors: result.errors.map((e) => e.message),
  });
  ensureEqual(result.objects, objects, `an encoded object decodes to itself (text: ${JSON.stringify(text)})`);
}

export const decoderTarget: FuzzTarget<DecoderInput> = {
  name: 'decoder',
  async: false,
  arbitrary: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('text' as const),
        text: hostileText,
        contentType: fc.constantFrom(undefined, 'yaml' as const, 'json' as const),
        throwOnError: fc.boolean(),
        maxAliases: fc.constantFrom(0, 3, 100),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('roundtrip' as const),
        objects: fc.array(kubeObject, { minLength: 1, maxLength: 3 }),
        format: fc.constantFrom('yaml' as const, 'json' as const),
        indent: fc.constantFrom(2, 4),
      }),
    },
  ),
  check: checkDecoder,
};

// ---- editor ------------------------------------------------------------------------------

// Text a file can hold: no lone surrogate halves (they have no UTF-8 form).
const editorString = trickyString.filter((s) => !/\p{Surrogate}/u.test(s));
const editorScalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: editorString },
  { weight: 2, arbitrary: integerValue },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((n) => n / 8) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
const editorKey = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,5}$/) },
  { weight: 1, arbitrary: editorString },
);
const editorValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: editorScalar },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(editorKey, tie('value'), { maxKeys: 4, noNullPrototype: true }) },
  ),
})).value;

const containerName = fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/);
const container = fc.record(
  {
    name: containerName,
    image: fc.oneof(editorString, fc.stringMatching(/^[a-z]{1,5}:[0-9]$/)),
    args: fc.array(editorString, { maxLength: 3 }),
    ports: fc.uniqueArray(
      fc.record({
        containerPort: fc.integer({ min: 1, max: 65535 }),
        protocol: fc.constantFrom('TCP', 'UDP'),
      }),
      { maxLength: 3, selector: (p) => p.containerPort },
    ),
  },
  { requiredKeys: ['name'] },
);
const editorObject: fc.Arbitrary<KubeObject> = fc
  .record({
    name: containerName,
    containers: fc.uniqueArray(container, { maxLength: 4, selector: (c) => c.name }),
    conditions: fc.uniqueArray(
      fc.record({
        type: fc.constantFrom('Ready', 'Live', 'Synced', 'Healthy'),
        status: fc.constantFrom('True', 'False'),
      }),
      { maxLength: 3, selector: (c) => c.type },
    ),
    rest: fc.dictionary(
      editorKey.filter((k) => !['apiVersion', 'kind', 'metadata', 'spec', 'status', 'items'].includes(k)),
      editorValue,
      { maxKeys: 4, noNullPrototype: true },
    ),
  })
  .map(({ name, containers, conditions, rest }) => {
    const obj: Record<string, unknown> = { apiVersion: 'v1', kind: 'Thing', metadata: { name } };
    if (containers.length > 0) obj.spec = { containers };
    if (conditions.length > 0) obj.status = { conditions };
    return { ...obj, ...rest } as KubeObject;
  });

type EditOp =
  | { kind: 'set'; pick: number; value: unknown }
  | { kind: 'delete'; pick: number }
  | { kind: 'add'; pick: number; key: string; value: unknown }
  | { kind: 'insert'; pick: number; value: unknown }
  | { kind: 'rename'; pick: number };

const editOp: fc.Arbitrary<EditOp> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value: editorValue }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), key: editorKey, value: editorValue }),
  fc.record({ kind: fc.constant('insert' as const), pick: fc.nat(), value: editorValue }),
  fc.record({ kind: fc.constant('rename' as const), pick: fc.nat() }),
);

export interface EditorInput {
  documents: KubeObject[];
  /** Which document is edited. */
  target: number;
  seed: number;
  ops: EditOp[];
  format: 'yaml' | 'json';
  crlf: boolean;
  jsonIndent: number;
}

type Node = Record<string, unknown> | unknown[];

/**
 * Sets a field of a map as its own property: a plain assignment to a key named `__proto__`
 * would change the object's prototype instead of adding the field a document can hold.
 */
function setOwn(map: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function get(value: unknown, path: Path): unknown {
  let at = value;
  for (const segment of path) {
    if (Array.isArray(at) && typeof segment === 'number') at = at[segment];
    else if (isMap(at) && typeof segment === 'string' && Object.hasOwn(at, segment)) at = at[segment];
    else return undefined;
  }
  return at;
}

/** Every node below the root that an edit may touch (metadata, apiVersion and kind stay). */
function editablePaths(value: unknown, path: Path = []): Path[] {
  const out: Path[] = [];
  const children: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : isMap(value)
      ? Object.entries(value)
      : [];
  for (const [key, child] of children) {
    if (path.length === 0 && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    const at = [...path, key];
    out.push(at, ...editablePaths(child, at));
  }
  return out;
}

const MERGE_KEYS = ['name', 'containerPort', 'port', 'type'];

function isPrefix(prefix: Path, path: Path): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
}

interface EditPlan {
  after: KubeObject;
  /** Nodes changed or replaced, with all below them. */
  touched: Path[];
  /** Lists that had items inserted or removed (their items may move). */
  restructured: Path[];
  /** Items whose merge key changed, and the fields the edits changed anywhere. */
  renamed: Path[];
  changed: Path[];
}

function applyOps(before: KubeObject, ops: readonly EditOp[]): EditPlan {
  const after = structuredClone(before);
  const plan: EditPlan = { after, touched: [], restructured: [], renamed: [], changed: [] };
  for (const op of ops) {
    const paths = editablePaths(after);
    if (op.kind === 'add' || op.kind === 'insert') {
      const containers: Path[] = [[], ...paths].filter((p) =>
        op.kind === 'add' ? isMap(get(after, p)) : Array.isArray(get(after, p)),
      );
      if (containers.length === 0) continue;
      const at = containers[op.pick % containers.length]!;
      const node = get(after, at) as Node;
      if (op.kind === 'add') {
        const map = node as Record<string, unknown>;
        if (
          Object.hasOwn(map, op.key) ||
          (at.length === 0 && ['apiVersion', 'kind', 'metadata'].includes(op.key))
        )
          continue;
        setOwn(map, op.key, structuredClone(op.value));
        plan.touched.push([...at, op.key]);
        plan.changed.push([...at, op.key]);
      } else {
        const list = node as unknown[];
        const index = op.pick % (list.length + 1);
        list.splice(index, 0, structuredClone(op.value));
        plan.restructured.push(at);
        plan.changed.push([...at, index]);
      }
      continue;
    }
    if (op.kind === 'rename') {
      const items = paths.filter((p) => {
        const item = get(after, p);
        return (
          typeof p[p.length - 1] === 'number' && isMap(item) && MERGE_KEYS.some((k) => isKeyValue(item[k]))
        );
      });
      if (items.length === 0) continue;
      const at = items[op.pick % items.length]!;
      const item = get(after, at) as Record<string, unknown>;
      const key = MERGE_KEYS.find((k) => isKeyValue(item[k]))!;
      const siblings = (get(after, at.slice(0, -1)) as unknown[]).map((s) => (isMap(s) ? s[key] : undefined));
      let value: unknown = item[key];
      for (let n = 1; siblings.includes(value); n++)
        value = typeof item[key] === 'number' ? (item[key] as number) + n * 7 : `${String(item[key])}-r${n}`;
      item[key] = value;
      plan.touched.push([...at, key]);
      plan.renamed.push(at);
      plan.changed.push([...at, key]);
      continue;
    }
    if (paths.length === 0) continue;
    const at = paths[op.pick % paths.length]!;
    const parent = get(after, at.slice(0, -1)) as Node;
    const last = at[at.length - 1]!;
    if (op.kind === 'set') {
      if (Array.isArray(parent)) parent[last as number] = structuredClone(op.value);
      else setOwn(parent, last as string, structuredClone(op.value));
      plan.touched.push(at);
      // A new value of a list item's merge key renames the item.
      if (MERGE_KEYS.includes(String(last)) && Array.isArray(get(after, at.slice(0, -2))))
        plan.renamed.push(at.slice(0, -1));
    } else if (Array.isArray(parent)) {
      parent.splice(last as number, 1);
      plan.restructured.push(at.slice(0, -1));
    } else {
      if (MERGE_KEYS.includes(String(last)) && Array.isArray(get(after, at.slice(0, -2))))
        plan.renamed.push(at.slice(0, -1));
      // The first pair of a list item gone, the next one moves onto the dash line, and comment
      // lines between them go with the removed pair (reported in removedComments).
      const grand = get(after, at.slice(0, -2));
      if (Array.isArray(grand) && Object.keys(parent)[0] === last) plan.touched.push(at.slice(0, -1));
      delete parent[last as string];
      plan.touched.push(at);
    }
    plan.changed.push(at);
  }
  return plan;
}

function isKeyValue(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number';
}

function kindOf(value: unknown): 'map' | 'list' | 'scalar' {
  return Array.isArray(value) ? 'list' : isMap(value) ? 'map' : 'scalar';
}

/** Whether the line (or comment) of field `path` must come through the edit as it was. */
function mustStay(plan: EditPlan, before: unknown, path: Path): boolean {
  if (plan.touched.some((t) => isPrefix(t, path))) return false;
  if (plan.restructured.some((l) => isPrefix(l, path) && l.length < path.length)) return false;
  for (const item of plan.renamed) {
    if (!isPrefix(item, path)) continue;
    // A renamed item stays the same item only while the rest of it is unchanged.
    const edits = plan.changed.filter((c) => isPrefix(item, c) && c.length > item.length);
    if (edits.length > 1) return false;
  }
  for (let depth = 0; depth <= path.length; depth++) {
    const prefix = path.slice(0, depth);
    const was = get(before, prefix);
    const now = get(plan.after, prefix);
    if (now === undefined || kindOf(was) !== kindOf(now)) return false;
    if (
      kindOf(was) === 'map' &&
      (Object.keys(was as object).length === 0 || Object.keys(now as object).length === 0)
    )
      return false;
    if (kindOf(was) === 'list' && ((was as unknown[]).length === 0 || (now as unknown[]).length === 0))
      return false;
  }
  return true;
}

/** A line without its indentation and list dashes: a pair may move onto its item's dash line. */
function lineContent(line: string): string {
  return line.replace(/^(?:[ \t]*-(?=[ \t]|$))*[ \t]*/, '');
}

function linesOf(text: string): string[] {
  return text.split(/\r?\n/).map(lineContent);
}

function checkEditor(input: EditorInput): void {
  const { documents, format } = input;
  const target = input.target % documents.length;
  const eol = input.crlf ? '\r\n' : '\n';
  const written = documents.map((doc, i) =>
    format === 'yaml' ? writeCommentedYaml(doc, input.seed + i, `d${i}c`) : undefined,
  );
  const text =
    format === 'yaml'
      ? written.map((w) => w!.lines.map((l) => l.text).join(eol) + eol).join(`---${eol}`)
      : documents
          .map((doc) => encodeJsonDocument(doc, { indent: input.jsonIndent, lineEnding: eol }))
          .join('');
  const file = ManifestFile.parse(text, { contentType: format });
  ensure(file.errors.length === 0, 'the generated file decodes', {
    text,
    errors: file.errors.map((e) => e.message),
  });
  ensureEqual(
    file.documents.map((d) => d.object),
    documents,
    `the generated file holds the generated objects (text: ${JSON.stringify(text)})`,
  );

  const before = documents[target]!;
  const plan = applyOps(before, input.ops);
  const unchanged = ManifestFile.parse(text, { contentType: format });
  unchanged.setObject(target, structuredClone(before));
  ensure(unchanged.toString() === text, 'an edit that changes nothing keeps the text');

  const { removedComments } = file.setObject(target, plan.after);
  const result = file.toString();
  const reread = ManifestFile.parse(result, { contentType: format });
  ensure(reread.errors.length === 0, 'the edited file decodes', {
    result,
    errors: reread.errors.map((e) => e.message),
  });
  ensureEqual(
    reread.documents.map((d) => d.object),
    documents.map((d, i) => (i === target ? plan.after : d)),
    `the edited file holds the intended objects (result: ${JSON.stringify(result)})`,
  );
  ensure(reread.documents.length === documents.length, 'the edited file has as many documents', { result });
  ManifestFile.parse(text, { contentType: format }).documents.forEach((doc, i) => {
    if (i === target) return;
    const now = reread.documents[i]!.frame;
    ensure(
      doc.frame.separator + doc.frame.text === now.separator + now.text,
      `untouched document ${i} is byte for byte the same`,
      { result },
    );
  });

  const source = written[target];
  if (source === undefined) return;
  const resultLines = linesOf(result);
  const removed = new Set(removedComments.map((c) => c.text));
  const needed = new Map<string, number>();
  for (const line of source.lines) {
    if (!mustStay(plan, before, line.owner)) continue;
    const content = lineContent(line.text);
    needed.set(content, (needed.get(content) ?? 0) + 1);
  }
  const have = new Map<string, number>();
  for (const line of resultLines) have.set(line, (have.get(line) ?? 0) + 1);
  for (const [line, count] of needed) {
    ensure((have.get(line) ?? 0) >= count, 'an untouched line keeps its text (quoting, comment)', {
      line,
      source: text,
      result,
    });
  }
  for (const [marker, owner] of source.comments) {
    const kept = resultLines.some(
      (l) => l.endsWith(marker) || l.includes(`${marker} `) || l.endsWith(`${marker}\r`),
    );
    ensure(kept || removed.has(marker), 'a comment is kept or reported as removed', {
      marker,
      owner,
      result,
    });
    if (mustStay(plan, before, owner))
      ensure(kept, 'a comment of an untouched line is kept', { marker, owner, source: text, result });
  }
}

export const editorTarget: FuzzTarget<EditorInput> = {
  name: 'editor',
  async: false,
  arbitrary: fc.record({
    documents: fc.array(editorObject, { minLength: 1, maxLength: 3 }),
    target: fc.nat(2),
    seed: fc.nat(),
    ops: fc.array(editOp, { minLength: 1, maxLength: 4 }),
    format: fc.constantFrom('yaml' as const, 'yaml' as const, 'yaml' as const, 'json' as const),
    crlf: fc.boolean(),
    jsonIndent: fc.constantFrom(0, 2, 4),
  }),
  check: checkEditor,
};

export const TARGETS = { frames: framesTarget, decoder: decoderTarget, editor: editorTarget } as const;
export type TargetName = keyof typeof TARGETS;
