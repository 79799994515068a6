/** The filter layer: label and field selectors, object filters and the options of list and find. */
export type { LabelOperator, LabelRequirement, LabelSelectorSpec } from './label-selector.js';
export {
  LabelSelector,
  parseLabelSelector,
  labelSelectorFromSpec,
  toLabelSelector,
} from './label-selector.js';
export type { FieldRequirement } from './field-selector.js';
export { FieldSelector, parseFieldSelector, toFieldSelector, fieldValue } from './field-selector.js';
export type { ObjectFilter, ListFilter } from './object-filter.js';
export {
  byName,
  byNamespace,
  byUid,
  byKind,
  byLabels,
  byFields,
  where,
  allOf,
  anyOf,
  not,
  toListFilter,
  pipe,
} from './object-filter.js';
export type { ListOptions, CompiledListOptions } from './list-options.js';
export { compileListOptions, applyListOptions } from './list-options.js';
