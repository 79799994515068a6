/**
 * The serializer layer: frames (YAML/JSON streams and their limits), strict decoding,
 * deterministic encoding of new documents, lossless edits of existing ones, and ManifestFile,
 * which storage uses for every write.
 */
export type { ContentType, Frame, FrameOptions, FrameSource, FrameSplitter } from './frames.js';
export {
  contentTypeOf,
  createFrameSplitter,
  joinFrames,
  readFrames,
  sniffContentType,
  splitFrames,
} from './frames.js';
export type { Limits, AliasReport } from './limits.js';
export { DEFAULT_LIMITS, resolveLimits, countAliases, mayHaveAliases } from './limits.js';
export type { DecodeContext, DecodedDocument, DecodeResult, DecoderOptions, ParsedFrame } from './decode.js';
export { Decoder, FrameLocator, isBlankYaml } from './decode.js';
export type { EncodeOptions, JsonEncodeOptions, YamlEncodeOptions } from './encode.js';
export {
  encodeJson,
  encodeJsonDocument,
  encodeYaml,
  encodeYamlDocument,
  withConventionalKeyOrder,
} from './encode.js';
export type {
  ManifestDocument,
  ManifestFileOptions,
  SetObjectOptions,
  SetObjectResult,
} from './manifest-file.js';
export { ManifestFile, REMOVED_COMMENTS_HEADER } from './manifest-file.js';
export type { RemovedComment, YamlEditOptions, YamlEditResult } from './edit-yaml.js';
export { editYamlDocument } from './edit-yaml.js';
export type { JsonEditResult } from './edit-json.js';
export { editJsonDocument } from './edit-json.js';
export { formatJsonDocument, formatYamlDocument } from './format.js';
export { KUBE_YAML_SCHEMA, isAmbiguousPlainString, resolvePlainScalar } from './yaml11.js';
