/**
 * What strategic merge needs to know of a field: its patch strategy (`merge`, `replace`,
 * `retainKeys`, or `merge,retainKeys`) and, for a list of maps, its merge key. Built-in kinds
 * take it from the API server's own OpenAPI (builtin-patch-meta.ts, made by
 * scripts/gen-merge-keys.ts); a kind without it (a custom resource) has none, so its patches
 * merge as JSON merge patches do, as the API server does.
 */
import { BUILTIN_PATCH_META } from './builtin-patch-meta.js';

/** One field of a type: `t` the type of its value (or of its items `of: 'l'`, values `of: 'm'`). */
export interface PatchField {
  t?: string;
  of?: 'l' | 'm';
  s?: string;
  k?: string;
}

export interface BuiltinPatchMeta {
  /** `group/version/Kind` (`version/Kind` for the core group) -> type name. */
  kinds: Record<string, string>;
  types: Record<string, Record<string, PatchField>>;
}

/** The patch metadata of one map (one type), and how to reach the types below it. */
export class PatchMeta {
  private constructor(
    private readonly meta: BuiltinPatchMeta,
    private readonly type: string | undefined,
    /** A map of `type`s under names of its own (e.g. a map of arbitrary keys to objects). */
    private readonly mapOfType = false,
  ) {}

  /** The metadata of the kind `apiVersion`/`kind`, or of nothing (merge semantics). */
  static forKind(apiVersion: unknown, kind: unknown, meta: BuiltinPatchMeta = BUILTIN_PATCH_META): PatchMeta {
    const type =
      typeof apiVersion === 'string' && typeof kind === 'string'
        ? meta.kinds[`${apiVersion}/${kind}`]
        : undefined;
    return new PatchMeta(meta, type);
  }

  static none(): PatchMeta {
    return new PatchMeta(BUILTIN_PATCH_META, undefined);
  }

  /** True when the kind is known: its lists can merge by key. */
  get known(): boolean {
    return this.type !== undefined;
  }

  private field(name: string): PatchField | undefined {
    if (this.type === undefined || this.mapOfType) return undefined;
    return this.meta.types[this.type]?.[name];
  }

  /** The field's strategies (`merge`, `retainKeys`...), empty when it has none. */
  strategies(name: string): string[] {
    return this.field(name)?.s?.split(',') ?? [];
  }

  mergeKey(name: string): string | undefined {
    return this.field(name)?.k;
  }

  /** The metadata of the field's value: the map itself, a list's items or a map's values. */
  child(name: string): PatchMeta {
    if (this.mapOfType) return new PatchMeta(this.meta, this.type);
    const field = this.field(name);
    return new PatchMeta(this.meta, field?.t, field?.of === 'm');
  }
}
