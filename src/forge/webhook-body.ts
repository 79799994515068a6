/**
 * Reads a webhook's raw body from a stream (a Node request) with a size limit, stopping as soon
 * as the limit is passed, so an oversized or endless body costs no more than the limit.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { DEFAULT_WEBHOOK_MAX_BYTES } from './webhook-verify.js';

function tooLarge(maxBytes: number): GitOpsError {
  return new GitOpsError(
    ErrorCodes.RequestEntityTooLarge,
    `the webhook body is larger than ${maxBytes} bytes`,
    {
      details: { status: 413 },
    },
  );
}

export async function readWebhookBody(
  body: AsyncIterable<Uint8Array | string>,
  options: { maxBytes?: number; contentLength?: string | number } = {},
): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_WEBHOOK_MAX_BYTES;
  if (options.contentLength !== undefined && Number(options.contentLength) > maxBytes)
    throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += bytes.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}
