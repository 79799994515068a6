/**
 * Frames: YAML and JSON streams cut into documents that re-assemble byte for byte, from every
 * kind of source and in any chunking, with limits; JSON values end where the shared JSON
 * tokenizer says.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, GitOpsError } from '../../../src/runtime/index.js';
import {
  contentTypeOf,
  createFrameSplitter,
  joinFrames,
  readFrames,
  sniffContentType,
  splitFrames,
} from '../../../src/serializer/frames/frames.js';
import type { Frame, FrameOptions, FrameSource } from '../../../src/serializer/frames/frames.js';
import { JsonTokenizer, JsonTokenType } from '../../../src/serializer/shared/json-tokens.js';
import { CORPUS } from '../../support/corpus.js';
import { Decoder } from '../../../src/serializer/decode/decode.js';

/** [separator, text, terminator] of each frame. */
function parts(frames: Frame[]): [string, string, string][] {
  return frames.map((f) => [f.separator, f.text, f.terminator]);
}

/** Checks the invariants every split must keep: byte-exact join, and positions that point at the text. */
function checkPositions(source: string, frames: Frame[]): void {
  expect(joinFrames(frames)).toBe(source);
  frames.forEach((f, i) => {
    expect(f.index).toBe(i);
    expect(source.slice(f.startOffset, f.startOffset + f.text.length)).toBe(f.text);
    const before = source.slice(0, f.startOffset);
    expect(f.startLine).toBe(before.split('\n').length);
    const lineStart = before.lastIndexOf('\n') + 1;
    const bom = lineStart === 0 && source.startsWith('\uFEFF') ? 1 : 0;
    expect(f.startColumn).toBe(f.startOffset - lineStart + 1 - bom);
  });
}

async function collect(source: FrameSource, options?: FrameOptions): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const frame of readFrames(source, options)) out.push(frame);
  return out;
}

/** A Readable that hands out `text` in pieces of `size` bytes (multi-byte characters get cut). */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

function caught(fn: () => unknown): GitOpsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GitOpsError);
    return err as GitOpsError;
  }
  throw new Error('expected a GitOpsError, nothing was thrown');
}

describe('YAML frames', () => {
  const cases: [string, string, [string, string, string][]][] = [
    [
      'two documents',
      'a: 1\n---\nb: 2\n',
      [
        ['', 'a: 1\n', ''],
        ['---\n', 'b: 2\n', ''],
      ],
    ],
    ['a leading ---', '---\na: 1\n', [['---\n', 'a: 1\n', '']]],
    [
      'a separator with a comment',
      'a: 1\n--- # second\nb: 2\n',
      [
        ['', 'a: 1\n', ''],
        ['--- # second\n', 'b: 2\n', ''],
      ],
    ],
    [
      'a comment header before the first ---',
      '# License\n---\na: 1\n',
      [
        ['', '# License\n', ''],
        ['---\n', 'a: 1\n', ''],
      ],
    ],
    [
      'a comment-only document between two',
      'a: 1\n---\n# nothing here\n---\nb: 2\n',
      [
        ['', 'a: 1\n', ''],
        ['---\n', '# nothing here\n', ''],
        ['---\n', 'b: 2\n', ''],
      ],
    ],
    [
      'document end markers',
      'a: 1\n...\n---\nb: 2\n... # end\n',
      [
        ['', 'a: 1\n', '...\n'],
        ['---\n', 'b: 2\n', '... # end\n'],
      ],
    ],
    [
      'a document after ... without ---',
      'a: 1\n...\nb: 2\n',
      [
        ['', 'a: 1\n', '...\n'],
        ['', 'b: 2\n', ''],
      ],
    ],
    [
      'a trailing --- with nothing after it',
      'a: 1\n---\n',
      [
        ['', 'a: 1\n', ''],
        ['---\n', '', ''],
      ],
    ],
    ['content on the marker line', '--- |\n  text\n', [['--- ', '|\n  text\n', '']]],
    ['a directive', '%YAML 1.1\n---\na: 1\n', [['%YAML 1.1\n---\n', 'a: 1\n', '']]],
    [
      'a BOM',
      '\uFEFFa: 1\n---\nb: 2\n',
      [
        ['\uFEFF', 'a: 1\n', ''],
        ['---\n', 'b: 2\n', ''],
      ],
    ],
    ['a BOM and a leading ---', '\uFEFF---\na: 1\n', [['\uFEFF---\n', 'a: 1\n', '']]],
    [
      'CRLF line endings',
      'a: 1\r\n---\r\nb: 2\r\n',
      [
        ['', 'a: 1\r\n', ''],
        ['---\r\n', 'b: 2\r\n', ''],
      ],
    ],
    [
      'no final newline',
      'a: 1\n---\nb: 2',
      [
        ['', 'a: 1\n', ''],
        ['---\n', 'b: 2', ''],
      ],
    ],
    [
      'dashes that are not separators',
      'a: ----\nb: |\n  ---\n---x: 1\n',
      [['', 'a: ----\nb: |\n  ---\n---x: 1\n', '']],
    ],
    ['only a comment', '# just this\n', [['', '# just this\n', '']]],
  ];
  for (const [name, source, expected] of cases) {
    it(`splits ${name}, byte for byte`, () => {
      const frames = splitFrames(source, { contentType: 'yaml' });
      expect(parts(frames)).toEqual(expected);
      checkPositions(source, frames);
    });
  }

  it('yields no frame for an empty text', () => {
    expect(splitFrames('', { contentType: 'yaml' })).toEqual([]);
  });

  it('gives each frame the line and column where its text starts', () => {
    const frames = splitFrames('a: 1\n--- |\n  x\n---\n\nb: 2\n', { contentType: 'yaml' });
    expect(frames.map((f) => [f.startLine, f.startColumn])).toEqual([
      [1, 1],
      [2, 5],
      // The blank line after `---` belongs to the third document.
      [5, 1],
    ]);
  });

  it('re-assembles every corpus file byte for byte', () => {
    for (const file of [
      'argo-cd/install.yaml',
      'k8s-examples/AI/vllm-deployment/hpa/prometheus-adapter.yaml',
      'k8s-examples/_archived/sysdig-cloud/sysdig-rc.yaml',
    ]) {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      const frames = splitFrames(text);
      expect(frames.length).toBeGreaterThan(file.includes('sysdig') ? 0 : 1);
      checkPositions(text, frames);
    }
  });
});

describe('JSON frames', () => {
  const cases: [string, string, [string, string, string][]][] = [
    ['one object', '{\n  "a": 1\n}\n', [['', '{\n  "a": 1\n}', '\n']]],
    [
      'concatenated objects',
      '{"a":1}{"b":2}',
      [
        ['', '{"a":1}', ''],
        ['', '{"b":2}', ''],
      ],
    ],
    [
      'NDJSON',
      '{"a":1}\n{"b":2}\n',
      [
        ['', '{"a":1}', '\n'],
        ['', '{"b":2}', '\n'],
      ],
    ],
    [
      'braces and quotes inside strings',
      '{"a":"}{\\"]["}\n{"b":"\\\\"}\n',
      [
        ['', '{"a":"}{\\"]["}', '\n'],
        ['', '{"b":"\\\\"}', '\n'],
      ],
    ],
    [
      'nested values and a top-level list',
      ' [{"a":[1,{"b":2}]}]\n\n',
      [[' ', '[{"a":[1,{"b":2}]}]', '\n\n']],
    ],
    [
      'a scalar between objects',
      '{} 42 {}',
      [
        ['', '{}', ' '],
        ['', '42', ' '],
        ['', '{}', ''],
      ],
    ],
    ['an unterminated object', '{"a": [1, 2', [['', '{"a": [1, 2', '']]],
    ['a BOM', '\uFEFF{"a":1}\n', [['\uFEFF', '{"a":1}', '\n']]],
    ['whitespace only', ' \n', [[' \n', '', '']]],
  ];
  for (const [name, source, expected] of cases) {
    it(`splits ${name}, byte for byte`, () => {
      const frames = splitFrames(source, { contentType: 'json' });
      expect(parts(frames)).toEqual(expected);
      checkPositions(source, frames);
    });
  }
});

describe('content types', () => {
  it('come from the file extension', () => {
    expect(contentTypeOf('a/b.yaml')).toBe('yaml');
    expect(contentTypeOf('a/b.YML')).toBe('yaml');
    expect(contentTypeOf('b.json')).toBe('json');
    expect(contentTypeOf('b.txt')).toBeUndefined();
  });

  it('are sniffed from the first significant character', () => {
    expect(sniffContentType('\uFEFF  \n{"a":1}')).toBe('json');
    expect(sniffContentType('[1]')).toBe('json');
    expect(sniffContentType('# c\na: 1')).toBe('yaml');
    expect(sniffContentType('  \n')).toBeUndefined();
    expect(splitFrames('{"a":1}{"b":2}').map((f) => f.contentType)).toEqual(['json', 'json']);
  });
});

describe('sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frames-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const yaml = '\uFEFF# é\r\na: "ü"\r\n---\r\nb: 日本\r\n...\r\n';

  it('reads a stream cut anywhere, even inside a character, the same as the whole text', async () => {
    const expected = splitFrames(yaml);
    for (const size of [1, 2, 3, 5, 64]) {
      expect(await collect(chunked(yaml, size))).toEqual(expected);
    }
    const json = '{"a":"}{"}\n{"b":[1,\n2]}  {"c":"日本"}\n';
    for (const size of [1, 3, 7]) {
      expect(await collect(chunked(json, size))).toEqual(splitFrames(json, { contentType: 'json' }));
    }
  });

  it('reads a corpus file from a stream in small chunks exactly like the whole text', async () => {
    const text = readFileSync(join(CORPUS, 'argo-cd/install.yaml'), 'utf8');
    expect(await collect(chunked(text, 4093))).toEqual(splitFrames(text));
  });

  it('reads strings, Buffers, file paths and file URLs', async () => {
    const path = join(dir, 'objects.json');
    await writeFile(path, '{"a":1}\n{"b":2}\n');
    const expected = splitFrames('{"a":1}\n{"b":2}\n');
    expect(await collect('{"a":1}\n{"b":2}\n')).toEqual(expected);
    expect(await collect(Buffer.from('{"a":1}\n{"b":2}\n'))).toEqual(expected);
    expect(await collect({ path })).toEqual(expected);
    expect(await collect(pathToFileURL(path))).toEqual(expected);
  });

  it('takes the content type of a file from its extension, not its first character', async () => {
    const path = join(dir, 'flow.yaml');
    await writeFile(path, '{a: 1}\n---\n{b: 2}\n');
    const frames = await collect({ path });
    expect(frames.map((f) => f.contentType)).toEqual(['yaml', 'yaml']);
    expect(frames).toHaveLength(2);
  });

  it('turns a missing file into IoError naming the file', async () => {
    const missing = join(dir, 'missing.yaml');
    const err = await collect({ path: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).code).toBe(ErrorCodes.IoError);
    expect((err as GitOpsError).details.file).toBe(missing);
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    const frames = readFrames(chunked('a: 1\n---\nb: 2\n---\nc: 3\n', 4), { signal: controller.signal });
    const first = await frames.next();
    expect(first.done).toBe(false);
    controller.abort();
    const err = await frames.next().catch((e: unknown) => e);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Aborted);
  });
});

describe('limits', () => {
  it('refuses a frame larger than maxFrameBytes, counting UTF-8 bytes', () => {
    const ok = splitFrames('a: 12345\n', { limits: { maxFrameBytes: 9 } });
    expect(ok).toHaveLength(1);
    const err = caught(() =>
      splitFrames('a: 1\n---\nb: ééééé\n', { file: 'f.yaml', limits: { maxFrameBytes: 12 } }),
    );
    expect(err.code).toBe(ErrorCodes.FrameTooLarge);
    expect(err.details).toMatchObject({ file: 'f.yaml', document: 1, line: 3, limit: 12 });
    expect(err.message).toContain('maxFrameBytes');
  });

  it('refuses an over-long JSON value and a single over-long line without waiting for its end', async () => {
    const err = caught(() => splitFrames(`{"a":"${'x'.repeat(100)}"}`, { limits: { maxFrameBytes: 50 } }));
    expect(err.code).toBe(ErrorCodes.FrameTooLarge);
    // A stream of one endless line: the error comes once the line passes the limit.
    async function* endless(): AsyncGenerator<string> {
      for (;;) yield 'x'.repeat(1024);
    }
    const streamed = await collect(endless(), { limits: { maxFrameBytes: 64 * 1024 } }).catch(
      (e: unknown) => e,
    );
    expect((streamed as GitOpsError).code).toBe(ErrorCodes.FrameTooLarge);
  });

  it('refuses more than maxFrames documents', () => {
    const text = Array.from({ length: 6 }, (_, i) => `a: ${i}\n`).join('---\n');
    expect(splitFrames(text, { limits: { maxFrames: 6 } })).toHaveLength(6);
    const err = caught(() => splitFrames(text, { limits: { maxFrames: 5 } }));
    expect(err.code).toBe(ErrorCodes.TooManyFrames);
    expect(err.details).toMatchObject({ document: 5, line: 11 });
    const json = caught(() => splitFrames('{}{}{}', { limits: { maxFrames: 2 } }));
    expect(json.code).toBe(ErrorCodes.TooManyFrames);
  });

  it('counts a line break after a backslash in a JSON string (found by the fuzzer)', () => {
    // The escaped line break was skipped, so every later frame had a line too few.
    const frames = splitFrames('{"a": "x\\\n"}\n{"b": 1}', { contentType: 'json' });
    expect(frames.map((f) => [f.startLine, f.startColumn])).toEqual([
      [1, 1],
      [3, 1],
    ]);
  });

  it('refuses a limit passed by the last documents of a stream too (found by the fuzzer)', async () => {
    // The last frames came from end() and the limit was kept for a next call nobody made: the
    // stream was cut short without an error.
    for (const text of ['---\n---\n---', '{}{}{}']) {
      expect(caught(() => splitFrames(text, { limits: { maxFrames: 2 } })).code).toBe(
        ErrorCodes.TooManyFrames,
      );
      const read: Frame[] = [];
      const err = await (async () => {
        try {
          for await (const f of readFrames(Readable.from([text]), { limits: { maxFrames: 2 } })) read.push(f);
        } catch (e) {
          return e as GitOpsError;
        }
        throw new GitOpsError(ErrorCodes.InternalError, 'no error');
      })();
      expect(err.code).toBe(ErrorCodes.TooManyFrames);
      expect(read).toHaveLength(2);
      const decoded = new Decoder({ limits: { maxFrames: 2 } }).decodeText(text);
      expect(decoded.documents).toHaveLength(2);
      expect(decoded.errors.map((e) => e.code).filter((c) => c === ErrorCodes.TooManyFrames)).toHaveLength(1);
      expect(decoded.errors.at(-1)?.code).toBe(ErrorCodes.TooManyFrames);
    }
  });

  it('has the documented defaults and refuses nonsense limits', () => {
    const err = caught(() => splitFrames('a: 1', { limits: { maxFrames: -1 } }));
    expect(err.code).toBe(ErrorCodes.BadRequest);
  });
});

describe('incremental frame finding', () => {
  it('does work linear in the input however small the chunks (counted, not timed)', () => {
    const head = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n';
    const body = Array.from({ length: 40_000 }, (_, i) => `  key-${i}: "${'v'.repeat(40)}"\n`).join('');
    const text = `${head}${body}---\n${head}`;
    for (const size of [1_024, 64 * 1024]) {
      const splitter = createFrameSplitter('yaml');
      const frames: Frame[] = [];
      for (let at = 0; at < text.length; at += size) frames.push(...splitter.push(text.slice(at, at + size)));
      frames.push(...splitter.end());
      expect(frames.map((f) => f.separator + f.text + f.terminator).join('')).toBe(text);
      expect(frames).toHaveLength(2);
      // Each character is copied a bounded number of times: a quadratic reader copies the
      // growing document once per chunk (about 1,700 times the input in 1 KiB chunks here).
      expect(splitter.copied).toBeGreaterThan(0);
      expect(splitter.copied!).toBeLessThan(3 * text.length);
    }
  });

  it('reads a large JSON document in small chunks with linear work (counted, not timed)', () => {
    // Issue 18: the JSON splitter appended each chunk to one string and read it again from
    // there, which flattened the whole document at every chunk (quadratic in its size).
    const body = Array.from({ length: 40_000 }, (_, i) => `"key-${i}": "${'v'.repeat(40)}"`).join(',\n  ');
    const text = `{"kind": "ConfigMap", "data": {\n  ${body}\n}}\n[1, "]"]\n`;
    for (const size of [1_024, 64 * 1024]) {
      const splitter = createFrameSplitter('json');
      const frames: Frame[] = [];
      for (let at = 0; at < text.length; at += size) frames.push(...splitter.push(text.slice(at, at + size)));
      frames.push(...splitter.end());
      expect(frames.map((f) => f.separator + f.text + f.terminator).join('')).toBe(text);
      expect(frames.map((f) => f.text.length)).toEqual([text.indexOf('\n[1'), '[1, "]"]'.length]);
      expect(splitter.copied).toBeGreaterThan(0);
      expect(splitter.copied!).toBeLessThan(3 * text.length);
    }
  });
});

/**
 * Where a value opening with a bracket or a quote ends, by the tokens of the shared tokenizer
 * alone (read over the whole text): where its brackets balance, or the end of the text.
 */
function tokenizerValueEnd(text: string, start: number): number {
  const tokens = new JsonTokenizer(text, start);
  let depth = 0;
  for (let type = tokens.next(); type !== JsonTokenType.End; type = tokens.next()) {
    if (type === JsonTokenType.BeginObject || type === JsonTokenType.BeginArray) depth++;
    else if (type === JsonTokenType.EndObject || type === JsonTokenType.EndArray) depth--;
    if (depth === 0) return tokens.end;
  }
  return text.length;
}

/** The frames of `text` pushed in pieces of `size` characters. */
function pushedInPieces(text: string, size: number): Frame[] {
  const splitter = createFrameSplitter('json');
  const frames: Frame[] = [];
  for (let at = 0; at < text.length; at += size) frames.push(...splitter.push(text.slice(at, at + size)));
  frames.push(...splitter.end());
  return frames;
}

describe('JSON frames end where the shared tokenizer says', () => {
  const tricky = [
    String.raw`{"a": "say \"}\" and \"]\""} {"b": 2}`,
    String.raw`{"a": "]}]}", "b": ["[", "{", "\\"]}[1]`,
    String.raw`["\u005d", "\u0022", "\u007B", "\\"]` + '\n["x"]',
    String.raw`{"bad": "\u12", "esc": "\x\"}"}` + '\n{}',
    String.raw`"a bare \"string\" with ] and }" {"c": 3}`,
    '[["nested", {"deep": [1, 2, {"x": "}"}]}], "\\\\"] [2]',
    '{"raw": "line\nbreak } inside"}\n\n{"d": 4}',
    '{"a": tru, "b": -, "c": "\\u{5d}"} ["after"]',
    '\uFEFF {"bom": "}"}\r\n{"e": "\\u0022"}',
    String.raw`{"a": "unterminated } ] \" still inside`,
    '["lone backslash at the end \\',
  ];

  it('gives every value opening with a bracket or a quote the end the tokenizer reads', () => {
    for (const text of tricky) {
      const frames = splitFrames(text, { contentType: 'json' });
      checkPositions(text, frames);
      for (const f of frames) {
        const ends = [f.startOffset + f.text.length, tokenizerValueEnd(text, f.startOffset)];
        expect(ends, `${JSON.stringify(text)} at ${f.startOffset}`).toEqual([ends[1], ends[1]]);
      }
    }
  });

  it('finds the same ends however the text is cut, escapes and strings cut in two included', () => {
    for (const text of tricky) {
      const whole = splitFrames(text, { contentType: 'json' });
      for (const size of [1, 2, 3, 5, 8]) expect(pushedInPieces(text, size)).toEqual(whole);
    }
  });

  it('runs an unterminated string to the end of the stream, as the tokenizer does', () => {
    const text = '{"a": "x\\"} {"b": 1}';
    const frames = splitFrames(text, { contentType: 'json' });
    expect(frames.map((f) => f.text)).toEqual([text]);
    expect(tokenizerValueEnd(text, 0)).toBe(text.length);
  });
});
