/**
 * The `yaml` package, loaded on first use: it serves positions in error messages, the editor's
 * fallback and the formatter, and loading it costs more than the rest of the library together,
 * so reading and writing well-formed files (and `import 'libgitops'`) never pay for it.
 */
import { lazyModule } from '../../runtime/index.js';
import type * as YamlModule from 'yaml';

export const yaml = lazyModule<typeof YamlModule>('yaml');
