/**
 * The serializer layer: frames (YAML/JSON streams and their limits), strict decoding,
 * deterministic encoding of new documents, lossless edits of existing ones, and ManifestFile,
 * which storage uses for every write.
 */
export type { ContentType, Frame, FrameOptions, FrameSource, FrameSplitter } from './frames/frames.js';
export {
  contentTypeOf,
  createFrameSplitter,
  joinFrames,
  readFrames,
  sniffContentType,
  splitFrames,
} from './frames/frames.js';
export type { Limits, AliasReport } from './frames/limits.js';
export { DEFAULT_LIMITS, resolveLimits, countAliases, mayHaveAliases } from './frames/limits.js';
export type {
  DecodeContext,
  DecodedDocument,
  DecodeResult,
  DecoderOptions,
  ParsedFrame,
} from './decode/decode.js';
export { Decoder, FrameLocator, isBlankYaml } from './decode/decode.js';
export type { EncodeOptions, JsonEncodeOptions, YamlEncodeOptions } from './encode/encode.js';
export {
  encodeJson,
  encodeJsonDocument,
  encodeYaml,
  encodeYamlDocument,
  withConventionalKeyOrder,
} from './encode/encode.js';
export type {
  ManifestDocument,
  ManifestFileOptions,
  SetObjectOptions,
  SetObjectResult,
} from './manifest-file.js';
export { ManifestFile, REMOVED_COMMENTS_HEADER } from './manifest-file.js';
export type { RemovedComment, YamlEditOptions, YamlEditResult } from './edit/yaml/editor.js';
export { editYamlDocument } from './edit/yaml/editor.js';
export type { JsonEditResult } from './edit/json/editor.js';
export { editJsonDocument } from './edit/json/editor.js';
export { formatJsonDocument, formatYamlDocument } from './encode/format.js';
export { KUBE_YAML_SCHEMA, isAmbiguousPlainString, resolvePlainScalar } from './shared/yaml11.js';
