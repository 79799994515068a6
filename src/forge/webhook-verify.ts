/**
 * Checks a webhook delivery before anything acts on it: size, content type, sender, signature
 * (before the body is even parsed), event type and repository. Every refusal is a GitOpsError
 * whose `details.status` is the HTTP status to answer; deliveries that are genuine but of no
 * interest (a ping, a tag, another repository) come back as `accepted: false` with 202.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ErrorCode } from '../runtime/index.js';
import type { PushEvent, WebhookProvider } from './push-event.js';
import { parsePushEvent } from './push-event.js';
import { parseRepositoryRef, repositoryKey } from './repository-ref.js';
import { hexSignatureMatches, sharedTokenMatches } from './webhook-signature.js';

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface WebhookRequest {
  headers: WebhookHeaders;
  /** The body exactly as received: signatures are over these bytes. */
  rawBody: Uint8Array | string;
}

export interface WebhookConfig {
  /** Accept only this sender's format; default: recognised from the headers. */
  provider?: WebhookProvider;
  /** The secret set on the forge's webhook; several during a rotation. */
  secret: string | readonly string[];
  /** Repositories to act on: clone URLs (host and path must match) or `owner/name` (path must match). */
  repositories: readonly string[];
  /** Largest body accepted; default 5 MiB. */
  maxBytes?: number;
}

interface Delivery {
  provider: WebhookProvider;
  event: string;
  deliveryId?: string;
}

export type WebhookOutcome =
  | (Delivery & { accepted: true; status: 200; push: PushEvent })
  | (Delivery & { accepted: false; status: 202; reason: string; push?: PushEvent });

export const DEFAULT_WEBHOOK_MAX_BYTES = 5 * 1024 * 1024;

const SENDER_NAMES: Record<WebhookProvider, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea',
  generic: 'generic',
};

const EVENT_HEADER: Record<WebhookProvider, string> = {
  github: 'x-github-event',
  gitlab: 'x-gitlab-event',
  gitea: 'x-gitea-event',
  generic: 'x-signature-256',
};

const PUSH_EVENT: Record<WebhookProvider, string> = {
  github: 'push',
  gitlab: 'Push Hook',
  gitea: 'push',
  generic: 'push',
};

function refuse(
  code: ErrorCode,
  status: number,
  message: string,
  provider?: WebhookProvider,
  cause?: unknown,
): GitOpsError {
  const details: Record<string, unknown> = { status };
  if (provider !== undefined) details.provider = provider;
  return new GitOpsError(code, message, { details, cause });
}

/** The HTTP status to answer for an error from verifyWebhook (500 for anything else). */
export function webhookErrorStatus(err: unknown): number {
  if (err instanceof GitOpsError && typeof err.details.status === 'number') return err.details.status;
  return 500;
}

/** Header lookup by lower-case name; a header sent twice is refused, as its meaning is unclear. */
function headerReader(headers: WebhookHeaders): (name: string) => string | undefined {
  if (headers instanceof Headers) return (name) => headers.get(name) ?? undefined;
  const lower = new Map<string, string | string[] | undefined>();
  for (const [key, value] of Object.entries(headers)) lower.set(key.toLowerCase(), value);
  return (name) => {
    const value = lower.get(name);
    if (Array.isArray(value)) {
      if (value.length > 1)
        throw refuse(ErrorCodes.BadRequest, 400, `header ${name} was sent more than once`);
      return value[0];
    }
    return value;
  };
}

function detectSender(header: (name: string) => string | undefined): WebhookProvider | undefined {
  // Gitea and Forgejo also send X-GitHub-Event for compatibility, so they are asked first.
  if (header('x-gitea-event') !== undefined || header('x-forgejo-event') !== undefined) return 'gitea';
  if (header('x-gitlab-event') !== undefined) return 'gitlab';
  if (header('x-github-event') !== undefined) return 'github';
  if (header('x-signature-256') !== undefined) return 'generic';
  return undefined;
}

function checkConfig(config: WebhookConfig): { secrets: string[]; maxBytes: number } {
  const secrets = (typeof config.secret === 'string' ? [config.secret] : [...config.secret]).filter(
    (s) => typeof s === 'string' && s !== '',
  );
  if (secrets.length === 0) {
    throw refuse(
      ErrorCodes.Invalid,
      500,
      'the webhook has no secret configured; set the one given to the forge',
    );
  }
  if (config.repositories.length === 0) {
    throw refuse(
      ErrorCodes.Invalid,
      500,
      'the webhook has no repositories configured; list the ones to act on',
    );
  }
  const maxBytes = config.maxBytes ?? DEFAULT_WEBHOOK_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw refuse(ErrorCodes.Invalid, 500, 'webhook maxBytes must be a positive integer');
  }
  return { secrets, maxBytes };
}

function verifySignature(
  provider: WebhookProvider,
  header: (name: string) => string | undefined,
  body: Uint8Array,
  secrets: string[],
): void {
  const name = SENDER_NAMES[provider];
  const unauthorized = (message: string) => refuse(ErrorCodes.Unauthorized, 401, message, provider);
  if (provider === 'gitlab') {
    const token = header('x-gitlab-token');
    if (token === undefined || token === '') {
      throw unauthorized('missing X-Gitlab-Token: set the secret token of the GitLab webhook');
    }
    if (!secrets.some((s) => sharedTokenMatches(s, token))) {
      throw unauthorized('X-Gitlab-Token does not match the configured secret');
    }
    return;
  }
  let headerName: string;
  let value: string | undefined;
  if (provider === 'gitea') {
    headerName = 'X-Gitea-Signature';
    value = header('x-gitea-signature') ?? header('x-forgejo-signature');
  } else {
    headerName = provider === 'github' ? 'X-Hub-Signature-256' : 'X-Signature-256';
    const raw = header(headerName.toLowerCase());
    value = raw === undefined ? undefined : raw.startsWith('sha256=') ? raw.slice('sha256='.length) : '';
  }
  if (value === undefined || value === '') {
    throw unauthorized(`missing or malformed ${headerName}: set a secret on the ${name} webhook`);
  }
  const signature = value;
  if (!secrets.some((s) => hexSignatureMatches(s, body, signature))) {
    throw unauthorized(`${headerName} does not match the body signed with the configured secret`);
  }
}

function decodePayload(provider: WebhookProvider, body: Uint8Array, form: boolean): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (cause) {
    throw refuse(ErrorCodes.BadRequest, 400, 'the webhook body is not valid UTF-8', provider, cause);
  }
  if (form) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null)
      throw refuse(ErrorCodes.BadRequest, 400, 'the form body has no payload field', provider);
    text = payload;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw refuse(ErrorCodes.BadRequest, 400, 'the webhook body is not valid JSON', provider, cause);
  }
}

function repositoryMatcher(repositories: readonly string[]): (push: PushEvent) => boolean {
  const byKey = new Set<string>();
  const byPath = new Set<string>();
  for (const entry of repositories) {
    const ref = parseRepositoryRef(entry, 'webhook repository');
    (ref.host === undefined ? byPath : byKey).add(repositoryKey(ref));
  }
  return (push) =>
    byPath.has(push.repository.fullName.toLowerCase()) || push.repository.keys.some((key) => byKey.has(key));
}

/** Verifies and reads one delivery; throws a GitOpsError with `details.status` when it must be refused. */
export function verifyWebhook(request: WebhookRequest, config: WebhookConfig): WebhookOutcome {
  const { secrets, maxBytes } = checkConfig(config);
  const matches = repositoryMatcher(config.repositories);
  const header = headerReader(request.headers);

  const declared = Number(header('content-length'));
  const body = typeof request.rawBody === 'string' ? Buffer.from(request.rawBody, 'utf8') : request.rawBody;
  if (body.byteLength > maxBytes || (Number.isFinite(declared) && declared > maxBytes)) {
    throw refuse(ErrorCodes.RequestEntityTooLarge, 413, `the webhook body is larger than ${maxBytes} bytes`);
  }

  const detected = detectSender(header);
  const provider = config.provider ?? detected;
  if (provider === undefined) {
    throw refuse(
      ErrorCodes.BadRequest,
      400,
      'not a webhook from a known sender: no X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event or X-Signature-256 header',
    );
  }
  if (config.provider !== undefined && header(EVENT_HEADER[provider]) === undefined) {
    throw refuse(
      ErrorCodes.BadRequest,
      400,
      `this endpoint takes ${SENDER_NAMES[provider]} webhooks, but the request has no ${EVENT_HEADER[provider]} header`,
      provider,
    );
  }

  const contentType = (header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const form = contentType === 'application/x-www-form-urlencoded';
  if (contentType !== 'application/json' && !(form && (provider === 'github' || provider === 'gitea'))) {
    throw refuse(
      ErrorCodes.UnsupportedMediaType,
      415,
      `content type ${JSON.stringify(contentType)} is not accepted: configure the ${SENDER_NAMES[provider]} webhook to send application/json`,
      provider,
    );
  }

  // Nothing of the body is read before its signature is known to be good.
  verifySignature(provider, header, body, secrets);

  const event =
    provider === 'generic' ? (header('x-event') ?? 'push') : (header(EVENT_HEADER[provider]) ?? '');
  const deliveryId =
    header('x-github-delivery') ??
    header('x-gitea-delivery') ??
    header('x-gitlab-event-uuid') ??
    header('x-delivery');
  const delivery: Delivery = { provider, event, ...(deliveryId !== undefined ? { deliveryId } : {}) };
  const payload = decodePayload(provider, body, form);

  if (event !== PUSH_EVENT[provider]) {
    return {
      ...delivery,
      accepted: false,
      status: 202,
      reason: `${JSON.stringify(event)} is not a push event`,
    };
  }
  const push = parsePushEvent(provider, payload);
  if (push.branch === undefined) {
    return { ...delivery, accepted: false, status: 202, reason: `${push.ref} is not a branch`, push };
  }
  if (!matches(push)) {
    return {
      ...delivery,
      accepted: false,
      status: 202,
      reason: `repository ${push.repository.fullName} is not one this webhook is configured for`,
      push,
    };
  }
  return { ...delivery, accepted: true, status: 200, push };
}
