/**
 * Generators (fast-check arbitraries) for the fuzz targets of test/fuzz/targets.ts: hostile
 * text for frames and the decoder, and Kubernetes-like objects with the values that are hard
 * to carry (YAML 1.1 look-alikes, big integers, odd keys and characters).
 */
import fc from 'fast-check';

/** Strings a YAML 1.1 or 1.2 reader may take for something else, and characters with a meaning. */
export const TRICKY_STRINGS = [
  '',
  'on',
  'Off',
  'yes',
  'NO',
  'y',
  'n',
  'true',
  'null',
  'Null',
  '~',
  '0755',
  '0o17',
  '0x1F',
  '0b101',
  '1e3',
  '1_000',
  '+1',
  '-1.5',
  '.5',
  '1.',
  '.inf',
  '-.Inf',
  '.NaN',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '12:30:45',
  '190:20:30',
  '- a',
  'a: b',
  'a:b',
  '#x',
  'a #b',
  ' lead',
  'trail ',
  "'",
  '"',
  '\\',
  '\n',
  'a\nb',
  'a\n\n',
  '\n a',
  '\t',
  'x\ty',
  '---',
  '...',
  '--- a',
  '<<',
  '=',
  '!tag',
  '!!binary',
  '&a',
  '*a',
  '%YAML',
  '@x',
  '`x',
  '|',
  '>',
  '? x',
  '[a]',
  '{a: 1}',
  ',',
  '\u2028',
  '\u0085',
  '\ufeff',
  '\u0000',
  '\u001b[0m',
  'é',
  '😀',
  '12176941420362965433',
  '9007199254740993',
];

/** A string that often is one of the hard cases, else arbitrary text (any code point). */
export const trickyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(...TRICKY_STRINGS, 'a', ' ', '\n', '-', ':', '#'), { maxLength: 4 })
      .map((parts) => parts.join('')),
  },
);

/** Integers around the edges of what a double holds exactly, and far beyond (as bigints). */
export const integerValue: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc
    .bigInt({ min: -(1n << 80n), max: 1n << 80n })
    .map((n) =>
      n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n,
    ),
  fc.constantFrom(2n ** 53n, -(2n ** 53n) - 1n, 2n ** 64n - 1n, 12176941420362965433n),
);

/**
 * Scalars a decoded manifest can hold. Floats are finite and not -0 (JSON writes -0 as 0, and
 * neither Kubernetes nor YAML tell them apart).
 */
export const scalarValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: trickyString },
  { weight: 2, arbitrary: integerValue },
  {
    weight: 1,
    arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** Keys: Kubernetes-like names most of the time, hard strings some of the time. */
export const keyString = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,6}$/) },
  { weight: 1, arbitrary: trickyString },
);

/** Any nested value of maps, lists and scalars. */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: scalarValue },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(keyString, tie('value'), { maxKeys: 4, noNullPrototype: true }) },
  ),
})).value;

const dnsName = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/);

/** A Kubernetes object: apiVersion, kind, metadata.name, and any other fields. */
export const kubeObject: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    apiVersion: fc.constantFrom('v1', 'apps/v1', 'example.com/v1alpha1'),
    kind: fc.constantFrom('ConfigMap', 'Deployment', 'Car'),
    name: dnsName,
    namespace: fc.option(dnsName, { nil: undefined }),
    labels: fc.option(fc.dictionary(dnsName, dnsName, { maxKeys: 3, noNullPrototype: true }), {
      nil: undefined,
    }),
    rest: fc.dictionary(
      keyString.filter((k) => !['apiVersion', 'kind', 'metadata', 'items'].includes(k)),
      anyValue,
      { maxKeys: 4, noNullPrototype: true },
    ),
  })
  .map(({ apiVersion, kind, name, namespace, labels, rest }) => {
    const metadata: Record<string, unknown> = { name };
    if (namespace !== undefined) metadata.namespace = namespace;
    if (labels !== undefined) metadata.labels = labels;
    return { apiVersion, kind, metadata, ...rest };
  });

/** Lines that mean something to a YAML stream's framing, its parser, or both. */
const YAML_LINES = [
  '---',
  '--- # c',
  '--- a: 1',
  '--- |',
  '---\t',
  '----',
  ' ---',
  '...',
  '... # end',
  '%YAML 1.2',
  '%TAG ! tag:x,2000:',
  '# comment',
  '',
  '  ',
  'a: 1',
  'a: &x [1, 2]',
  'b: *x',
  '<<: *x',
  '<<: {c: 3}',
  'a:',
  '- x',
  '  - y',
  '  k: v',
  '? complex',
  ': value',
  'k: |',
  'k: >-',
  '  folded text',
  "k: 'it''s'",
  'k: "\\u00e9\\x41"',
  'k: "unterminated',
  'k: !!binary aGVsbG8=',
  'k: !!set {a, b}',
  'k: !!omap [a: 1]',
  'k: !!timestamp 2001-12-14',
  'k: !custom x',
  'k: .nan',
  'k: -.inf',
  'k: 0x_1F',
  'k: 1:20',
  'k: 12176941420362965433',
  'k: 99999999999999999999999999999',
  'k: [a, {b: c}, [d]]',
  'k: {a: [b,',
  'apiVersion: v1',
  'kind: ConfigMap',
  'kind: List',
  'items:',
  'metadata:',
  '  name: x',
  '  name: [x]',
  '\tk: tab',
  'a: 1 # c',
  'a: b: c',
  '- - - x',
  '&a a: 1',
  '*a : 1',
  '[1, 2]: x',
  '{a: 1}: x',
  'k: *undefined',
  '"quoted key": 1',
  'k: \u2028',
  '\ufeffk: bom',
];

/** Text that looks like YAML: meaningful lines and fragments in random order and indentation. */
export const yamlishText = fc
  .tuple(
    fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...YAML_LINES) },
        { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.nat(4), fc.constantFrom(...YAML_LINES))
            .map(([indent, line]) => ' '.repeat(indent) + line),
        },
      ),
      { maxLength: 16 },
    ),
    fc.constantFrom('\n', '\r\n'),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([lines, eol, bom, final]) => (bom ? '\ufeff' : '') + lines.join(eol) + (final ? eol : ''));

/** Text that looks like a JSON stream: values, broken values and whitespace in between. */
export const jsonishText = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.json({ maxDepth: 3 }) },
      {
        weight: 2,
        arbitrary: fc
          .array(
            fc.constantFrom(
              '{',
              '}',
              '[',
              ']',
              '"',
              '\\',
              ':',
              ',',
              '"a"',
              '1',
              'true',
              '12176941420362965433',
              ' ',
              '\n',
              'x',
            ),
            { maxLength: 12 },
          )
          .map((parts) => parts.join('')),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}'),
      },
    ),
    { maxLength: 6 },
  )
  .chain((values) =>
    fc
      .array(fc.constantFrom('', ' ', '\n', '\r\n', '\t', '\n\n'), {
        minLength: values.length + 1,
        maxLength: values.length + 1,
      })
      .map((spaces) => spaces[0] + values.map((v, i) => v + spaces[i + 1]).join('')),
  );

/** Any text the decoder may be handed: YAML-like, JSON-like, or anything at all. */
export const hostileText = fc.oneof(
  { weight: 4, arbitrary: yamlishText },
  { weight: 2, arbitrary: jsonishText },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
