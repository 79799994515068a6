/**
 * Field selectors (`metadata.name=web,status.phase!=Running`), as in k8s.io/apimachinery/fields.
 * The API server allows only a few fields per kind; objects on disk have every field at hand,
 * so any dotted path to a scalar may be selected on. A missing field reads as the empty string,
 * which is how `spec.nodeName=` selects unscheduled Pods.
 */
import { isPlainObject } from '../runtime/index.js';
import { selectorError } from './selector-error.js';

export interface FieldRequirement {
  /** Dotted path, e.g. `metadata.namespace`. */
  readonly field: string;
  readonly operator: 'Equals' | 'NotEquals';
  readonly value: string;
}

export class FieldSelector {
  readonly requirements: readonly FieldRequirement[];

  constructor(requirements: readonly FieldRequirement[]) {
    for (const r of requirements) checkField(r.field, undefined);
    this.requirements = [...requirements];
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(obj: unknown): boolean {
    return this.requirements.every((r) => {
      const value = fieldValue(obj, r.field);
      const equal = value !== undefined && value === r.value;
      return r.operator === 'Equals' ? equal : !equal;
    });
  }

  /** The value a requirement pins, e.g. `metadata.name` for an index lookup; undefined if none. */
  exactValue(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === 'Equals')?.value;
  }

  toString(): string {
    return this.requirements
      .map((r) => `${r.field}${r.operator === 'Equals' ? '=' : '!='}${escapeValue(r.value)}`)
      .join(',');
  }
}

/**
 * The string a field compares as: scalars in their text form, a missing field as "", and
 * undefined for maps and lists (which equal nothing).
 */
export function fieldValue(obj: unknown, field: string): string | undefined {
  let current: unknown = obj;
  for (const part of field.split('.')) {
    if (!isPlainObject(current) || !Object.prototype.hasOwnProperty.call(current, part)) return '';
    current = current[part];
  }
  if (current === null || current === undefined) return '';
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  if (current instanceof Date) return current.toISOString();
  return undefined;
}

function escapeValue(value: string): string {
  return value.replace(/[\\,=!]/g, (c) => `\\${c}`);
}

const FIELD_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

function checkField(field: string, selector: string | undefined, column?: number): void {
  if (!FIELD_PATH.test(field)) {
    throw selectorError(
      'fieldSelector',
      `${JSON.stringify(field)} is not a field path like "metadata.name" or "status.phase"`,
      selector,
      column,
    );
  }
}

/**
 * Parses the text form: terms separated by ",", each `field=value`, `field==value` or
 * `field!=value`; `\` escapes `,`, `=`, `!` and `\` in values. The empty string selects all.
 */
export function parseFieldSelector(text: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (text.trim() === '') return new FieldSelector([]);
  // Split on unescaped commas, remembering where each term starts for messages.
  const terms: { text: string; at: number }[] = [];
  let current = '';
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i += 1;
    } else if (c === ',') {
      terms.push({ text: current, at: start });
      current = '';
      start = i + 1;
    } else {
      current += c;
    }
  }
  terms.push({ text: current, at: start });
  for (const term of terms) {
    const m = /^([^=!]*?)\s*(==|!=|=)(.*)$/s.exec(term.text);
    if (m === null) {
      throw selectorError(
        'fieldSelector',
        `field selector ${JSON.stringify(text)}: "${term.text}" at column ${term.at + 1} is not of the form ` +
          'field=value, field==value or field!=value',
        text,
        term.at + 1,
      );
    }
    const field = m[1]!.trim();
    checkField(field, text, term.at + 1);
    const raw = m[3]!;
    let value = '';
    for (let i = 0; i < raw.length; i += 1) {
      const c = raw[i]!;
      if (c === '\\') {
        const next = raw[i + 1];
        if (next === undefined || !'\\,=!'.includes(next)) {
          throw selectorError(
            'fieldSelector',
            `field selector ${JSON.stringify(text)}: invalid escape "\\${next ?? ''}" in the value of ${field}`,
            text,
            term.at + 1,
          );
        }
        value += next;
        i += 1;
      } else if (c === '=' || c === '!') {
        throw selectorError(
          'fieldSelector',
          `field selector ${JSON.stringify(text)}: "${c}" in the value of ${field} must be escaped as "\\${c}"`,
          text,
          term.at + 1,
        );
      } else {
        value += c;
      }
    }
    requirements.push({ field, operator: m[2] === '!=' ? 'NotEquals' : 'Equals', value });
  }
  return new FieldSelector(requirements);
}

export function toFieldSelector(selector: string | FieldSelector): FieldSelector {
  return selector instanceof FieldSelector ? selector : parseFieldSelector(selector);
}
