/**
 * Label selectors with the full Kubernetes syntax (`a=b,c!=d,e in (x,y),!f,g,h>1`) and the
 * structured form of the API (`matchLabels` / `matchExpressions`). Both compile to one
 * LabelSelector, whose requirements all have to hold (AND), as in k8s.io/apimachinery/labels.
 */
import { labelValueProblem, qualifiedNameProblem } from '../runtime/index.js';
import { selectorError } from './selector-error.js';

export type LabelOperator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

/** One condition on one label key. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted; one value for Equals/NotEquals/Gt/Lt, one or more for In/NotIn, none otherwise. */
  readonly values: readonly string[];
}

/** The structured selector of the Kubernetes API (e.g. a Deployment's `spec.selector`). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export class LabelSelector {
  readonly requirements: readonly LabelRequirement[];

  constructor(requirements: readonly LabelRequirement[]) {
    for (const r of requirements) checkRequirement(r, undefined);
    // Sorted by key as apimachinery does, so equal selectors print the same.
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The selector that selects everything. */
  static everything(): LabelSelector {
    return new LabelSelector([]);
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    const set = labels ?? {};
    return this.requirements.every((r) => requirementMatches(r, set));
  }

  /** The canonical text form, which parseLabelSelector reads back to an equal selector. */
  toString(): string {
    return this.requirements.map(formatRequirement).join(',');
  }
}

function own(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const value = own(labels, r.key);
  switch (r.operator) {
    case 'Equals':
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotEquals':
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      // A label that is not an integer never matches, as in Kubernetes.
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const have = Number(value);
      const bound = Number(r.values[0]);
      return r.operator === 'Gt' ? have > bound : have < bound;
    }
  }
}

function formatRequirement(r: LabelRequirement): string {
  switch (r.operator) {
    case 'Equals':
      return `${r.key}=${r.values[0] ?? ''}`;
    case 'NotEquals':
      return `${r.key}!=${r.values[0] ?? ''}`;
    case 'In':
      return `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return `${r.key} notin (${r.values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'Gt':
      return `${r.key}>${r.values[0] ?? ''}`;
    case 'Lt':
      return `${r.key}<${r.values[0] ?? ''}`;
  }
}

function checkRequirement(r: LabelRequirement, selector: string | undefined, column?: number): void {
  const keyProblem = qualifiedNameProblem(r.key);
  if (keyProblem !== undefined) {
    throw selectorError(
      'labelSelector',
      `invalid label key ${JSON.stringify(r.key)}: ${keyProblem}`,
      selector,
      column,
    );
  }
  const count = r.values.length;
  switch (r.operator) {
    case 'Equals':
    case 'NotEquals':
      if (count !== 1)
        throw selectorError('labelSelector', `"${r.key}": exactly one value is needed`, selector, column);
      break;
    case 'In':
    case 'NotIn':
      if (count === 0) {
        throw selectorError(
          'labelSelector',
          `"${r.key}": the set of values of "${r.operator === 'In' ? 'in' : 'notin'}" can't be empty`,
          selector,
          column,
        );
      }
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (count !== 0)
        throw selectorError('labelSelector', `"${r.key}": exists checks take no values`, selector, column);
      break;
    case 'Gt':
    case 'Lt':
      if (count !== 1 || !/^-?\d+$/.test(r.values[0] ?? '')) {
        throw selectorError(
          'labelSelector',
          `"${r.key}": ${r.operator === 'Gt' ? '>' : '<'} needs one integer value, e.g. "${r.key}>3"`,
          selector,
          column,
        );
      }
      return;
  }
  for (const value of r.values) {
    const problem = labelValueProblem(value);
    if (problem !== undefined) {
      throw selectorError(
        'labelSelector',
        `invalid value ${JSON.stringify(value)} for label "${r.key}": ${problem}`,
        selector,
        column,
      );
    }
  }
}

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'op'; text: '=' | '==' | '!=' | '!' | '>' | '<'; at: number }
  | { kind: 'punct'; text: ',' | '(' | ')'; at: number };

// Everything that is not whitespace or one of the selector's special characters is a word.
const WORD = /[^\s,()=!<>]+/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === ',' || c === '(' || c === ')') {
      tokens.push({ kind: 'punct', text: c, at: i });
      i += 1;
    } else if (c === '=' || c === '!') {
      const two = text[i + 1] === '=';
      tokens.push({ kind: 'op', text: two ? (c === '=' ? '==' : '!=') : c, at: i });
      i += two ? 2 : 1;
    } else if (c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, at: i });
      i += 1;
    } else {
      WORD.lastIndex = i;
      const m = WORD.exec(text)!;
      tokens.push({ kind: 'word', text: m[0], at: i });
      i += m[0].length;
    }
  }
  return tokens;
}

/**
 * Parses the text form. The empty string selects everything. Throws BadRequest with the
 * column of the problem for text Kubernetes would refuse.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const tokens = tokenize(text);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (message: string, token?: Token): never => {
    const at = token?.at ?? text.length;
    throw selectorError(
      'labelSelector',
      `label selector ${JSON.stringify(text)}: ${message} at column ${at + 1}`,
      text,
      at + 1,
    );
  };
  const word = (what: string): Token => {
    const t = peek();
    if (t?.kind !== 'word')
      return fail(`expected ${what}, found ${t === undefined ? 'the end' : `"${t.text}"`}`, t);
    pos += 1;
    return t;
  };
  const add = (r: LabelRequirement, at: number): void => {
    checkRequirement(r, text, at + 1);
    requirements.push(r);
  };

  if (tokens.length === 0) return LabelSelector.everything();
  for (;;) {
    const start = peek()!;
    if (start.kind === 'op' && start.text === '!') {
      pos += 1;
      add({ key: word('a label key after "!"').text, operator: 'DoesNotExist', values: [] }, start.at);
    } else {
      const key = word('a label key').text;
      const next = peek();
      if (next === undefined || (next.kind === 'punct' && next.text === ',')) {
        add({ key, operator: 'Exists', values: [] }, start.at);
      } else if (next.kind === 'op' && next.text !== '!') {
        pos += 1;
        const operator: LabelOperator =
          next.text === '!=' ? 'NotEquals' : next.text === '>' ? 'Gt' : next.text === '<' ? 'Lt' : 'Equals';
        // `a=` means "a is the empty string"; the value is optional only for equality.
        const after = peek();
        const value =
          after?.kind === 'word'
            ? word('a value').text
            : operator === 'Equals' || operator === 'NotEquals'
              ? ''
              : fail(`expected a value after "${next.text}"`, after);
        add({ key, operator, values: [value] }, start.at);
      } else if (next.kind === 'word' && (next.text === 'in' || next.text === 'notin')) {
        pos += 1;
        const open = peek();
        if (open?.kind !== 'punct' || open.text !== '(') fail(`expected "(" after "${next.text}"`, open);
        pos += 1;
        const values = new Set<string>();
        // A list may hold empty values (`a in (,x)`), as in apimachinery.
        let expectValue = true;
        for (;;) {
          const t = peek();
          if (t === undefined) fail('expected ")" to close the list of values');
          if (t!.kind === 'punct' && t!.text === ')') {
            if (expectValue && values.size > 0) values.add('');
            pos += 1;
            break;
          }
          if (t!.kind === 'punct' && t!.text === ',') {
            if (expectValue) values.add('');
            expectValue = true;
            pos += 1;
            continue;
          }
          if (t!.kind !== 'word' || !expectValue) fail(`unexpected "${t!.text}" in the list of values`, t);
          values.add(t!.text);
          expectValue = false;
          pos += 1;
        }
        add({ key, operator: next.text === 'in' ? 'In' : 'NotIn', values: [...values].sort() }, start.at);
      } else {
        fail(`expected an operator (=, ==, !=, in, notin, >, <) or "," after "${key}"`, next);
      }
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.kind !== 'punct' || sep.text !== ',')
      fail(`expected "," between requirements, found "${sep.text}"`, sep);
    pos += 1;
    if (peek() === undefined) fail('expected a requirement after ","');
  }
  return new LabelSelector(requirements);
}

/** Compiles the structured API form; BadRequest for an unknown operator or a bad key or value. */
export function labelSelectorFromSpec(spec: LabelSelectorSpec): LabelSelector {
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(spec.matchLabels ?? {})) {
    requirements.push({ key, operator: 'Equals', values: [value] });
  }
  for (const expression of spec.matchExpressions ?? []) {
    const { key, operator } = expression;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(operator)) {
      throw selectorError(
        'labelSelector',
        `matchExpressions: unknown operator ${JSON.stringify(operator)} for "${key}" (In, NotIn, Exists, DoesNotExist)`,
        undefined,
      );
    }
    requirements.push({ key, operator, values: [...new Set(expression.values ?? [])].sort() });
  }
  return new LabelSelector(requirements);
}

/** Accepts any form a caller may have: text, the API's structure, or a compiled selector. */
export function toLabelSelector(selector: string | LabelSelectorSpec | LabelSelector): LabelSelector {
  if (selector instanceof LabelSelector) return selector;
  return typeof selector === 'string' ? parseLabelSelector(selector) : labelSelectorFromSpec(selector);
}
