/**
 * What an unquoted YAML scalar means to the Kubernetes API server. The server reads YAML
 * through go-yaml v2, i.e. YAML 1.1: `on`/`yes`/`y` are booleans, `0755` is octal, `1_000` is
 * an integer, timestamps stay strings (they are decoded into untyped maps). We read values
 * the same way so that a value means to us what it means to the cluster, and we quote any
 * string that a YAML 1.1 or 1.2 reader would take for something else.
 */
import jsYaml from 'js-yaml';

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSES = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);

// go-yaml v2 hands an underscore-free plain scalar to strconv.ParseInt(s, 0, 64).
const INT_RE = /^[-+]?(?:0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INF_RE = /^[-+]?\.(?:inf|Inf|INF)$/;
const NAN_RE = /^\.(?:nan|NaN|NAN)$/;

// go-yaml only tries numbers for scalars starting with one of these; checking first is also
// what keeps the read path fast (most scalars are words).
const NUMERIC_START = /^[-+.0-9]/;

/**
 * The integer a plain scalar means, or undefined when it is not one. Beyond ±(2^53 - 1) it is
 * a bigint, exact (a number would round it; go-yaml reads up to uint64 exactly).
 */
function parseInteger(text: string): number | bigint | undefined {
  if (!NUMERIC_START.test(text)) return undefined;
  const plain = text.replaceAll('_', '');
  if (!INT_RE.test(plain)) return undefined;
  let sign = 1;
  let body = plain;
  if (body.startsWith('-') || body.startsWith('+')) {
    if (body.startsWith('-')) sign = -1;
    body = body.slice(1);
  }
  let radix = 10;
  let digits = body;
  if (/^0[xX]/.test(body)) [radix, digits] = [16, body.slice(2)];
  else if (/^0[bB]/.test(body)) [radix, digits] = [2, body.slice(2)];
  else if (/^0[oO]/.test(body)) [radix, digits] = [8, body.slice(2)];
  else if (body.length > 1 && body.startsWith('0')) [radix, digits] = [8, body.slice(1)];
  const value = parseInt(digits, radix);
  if (Number.isSafeInteger(value)) return sign * value;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  const big = BigInt(prefix + digits);
  return sign < 0 ? -big : big;
}

/** The value a plain (unquoted) scalar has for the API server. */
export function resolvePlainScalar(text: string): null | boolean | number | bigint | string {
  if (NULLS.has(text)) return null;
  if (TRUES.has(text)) return true;
  if (FALSES.has(text)) return false;
  const int = parseInteger(text);
  if (int !== undefined) return int;
  if (!NUMERIC_START.test(text)) return text;
  if (FLOAT_RE.test(text.replaceAll('_', '')) && /[0-9]/.test(text))
    return parseFloat(text.replaceAll('_', ''));
  if (INF_RE.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (NAN_RE.test(text)) return NaN;
  return text;
}

// YAML 1.2 core schema, and YAML 1.1 forms go-yaml does not read but other readers do
// (sexagesimal numbers, timestamps): a string looking like any of them gets quoted.
const CORE_12_NON_STRING =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const SEXAGESIMAL = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$/;

/**
 * True when `value` written as a plain scalar would be read back as something other than
 * this same string by a YAML 1.1 or 1.2 reader (so it must be quoted).
 */
export function isAmbiguousPlainString(value: string): boolean {
  if (resolvePlainScalar(value) !== value) return true;
  return CORE_12_NON_STRING.test(value) || SEXAGESIMAL.test(value) || TIMESTAMP.test(value);
}

// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const t = (jsYaml as unknown as { types: Record<'merge' | 'omap' | 'pairs' | 'set', jsYaml.Type> }).types;

const nullType = new jsYaml.Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: string | null) => data === null || NULLS.has(data),
  construct: () => null,
  predicate: (obj: unknown) => obj === null,
  represent: () => 'null',
});

const boolType = new jsYaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && (TRUES.has(data) || FALSES.has(data)),
  construct: (data: string) => TRUES.has(data),
  predicate: (obj: unknown) => typeof obj === 'boolean',
  represent: (obj: object) => String(obj),
});

const intType = new jsYaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && parseInteger(data) !== undefined,
  construct: (data: string) => parseInteger(data),
  predicate: (obj: unknown) => typeof obj === 'bigint' || (typeof obj === 'number' && Number.isInteger(obj)),
  represent: (obj: object) => String(obj),
});

const floatType = new jsYaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) => {
    if (data === null) return false;
    const v = resolvePlainScalar(data);
    return typeof v === 'number' && parseInteger(data) === undefined;
  },
  construct: (data: string) => resolvePlainScalar(data),
  predicate: (obj: unknown) => typeof obj === 'number' && !Number.isInteger(obj),
  represent: (obj: object) => String(obj),
});

// `!!binary` stays the base64 text it was written as (line breaks and spaces taken out): a
// string, as JSON carries it, never bytes that a later write would turn into a map of numbers.
// Text that is not base64 is refused by the parser.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const binaryType = new jsYaml.Type('tag:yaml.org,2002:binary', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && BASE64.test(data.replace(/\s+/g, '')),
  construct: (data: string) => data.replace(/\s+/g, ''),
});

/** Whether a YAML text may hold `.nan` or `.inf` (cheap test before walking a value). */
export function mayHaveNonFinite(text: string): boolean {
  return /\.(?:nan|NaN|NAN|inf|Inf|INF)\b/.test(text);
}

/** The path (`.a[0].b`) of the first NaN or infinite number in a parsed value, if any. */
export function findNonFinite(value: unknown, path = ''): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (typeof value !== 'object' || value === null) return undefined;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v])
    : Object.entries(value).map(([k, v]) => [`.${k}`, v]);
  for (const [step, child] of entries) {
    const found = findNonFinite(child, path + step);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * A js-yaml schema with Kubernetes' (go-yaml v2) meaning of plain scalars: YAML 1.1 booleans,
 * integers and floats, merge keys, and no timestamp type (timestamps stay strings).
 */
export const KUBE_YAML_SCHEMA = jsYaml.FAILSAFE_SCHEMA.extend({
  implicit: [nullType, boolType, intType, floatType, t.merge],
  explicit: [binaryType, t.omap, t.pairs, t.set],
});
