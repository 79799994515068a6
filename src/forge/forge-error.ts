/**
 * A forge's refusal turned into a GitOpsError a person can act on: which forge, what we were
 * doing, in which repository, and what to change. Tokens are scrubbed from every message the
 * forge sends back, and never part of our own.
 */
import { scrubSecrets } from '../git/index.js';
import type { ErrorCode } from '../runtime/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ForgeKind } from './pull-request.js';

export const FORGE_NAMES: Record<ForgeKind, string> = { github: 'GitHub', gitlab: 'GitLab', gitea: 'Gitea' };

export const TOKEN_ENV: Record<ForgeKind, string> = {
  github: 'GITHUB_TOKEN',
  gitlab: 'GITLAB_TOKEN',
  gitea: 'GITEA_TOKEN',
};

const TOKEN_NEEDS: Record<ForgeKind, string> = {
  github:
    'a classic token with the "repo" scope, or a fine-grained token with read and write on "Pull requests" and "Contents"',
  gitlab: 'a token with the "api" scope, held by a user with at least the Developer role in the project',
  gitea:
    'a token with the "write:repository" and "write:issue" scopes, held by a user who can write to the repository',
};

/** What the provider was doing; every message is built from it. */
export interface ForgeOperation {
  forge: ForgeKind;
  /** A verb phrase: `open a pull request`, `merge pull request #4`. */
  action: string;
  /** `owner/name`. */
  repository?: string;
  /** The API origin, for 404s and network errors. */
  host: string;
  /** Merges and branch deletions get their own advice. */
  kind?: 'merge' | 'delete-branch' | 'auto-merge';
  /** Strings never to repeat (the token, in every encoding). */
  secrets: readonly string[];
}

function where(op: ForgeOperation): string {
  return op.repository === undefined ? '' : ` in ${op.repository}`;
}

function forgeSays(message: string, op: ForgeOperation): string {
  const text = scrubSecrets(message.trim(), op.secrets).replace(/\s+/g, ' ');
  return text === '' ? '' : `: ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`;
}

function codeAndAdvice(
  status: number,
  op: ForgeOperation,
  said: string,
): { code: ErrorCode; message: string } {
  const forge = FORGE_NAMES[op.forge];
  const head = `${forge} refused to ${op.action}${where(op)} (HTTP ${status}${said})`;
  if (op.kind === 'merge' && [405, 406, 422].includes(status)) {
    return {
      code: ErrorCodes.MethodNotAllowed,
      message:
        `${head}. The merge is blocked: branch protection, required checks or reviews, a draft or ` +
        `work-in-progress title, or conflicts with the base; resolve that, or let the forge merge it with autoMerge`,
    };
  }
  if (op.kind === 'merge' && status === 409) {
    return {
      code: ErrorCodes.Conflict,
      message: `${head}. The head branch moved or conflicts with the base; update the branch, push, and merge again`,
    };
  }
  if (op.kind === 'delete-branch' && [403, 405, 422].includes(status)) {
    return {
      code: ErrorCodes.Forbidden,
      message: `${head}. The branch is protected or is the default branch; lift the protection or keep the branch`,
    };
  }
  switch (status) {
    case 400:
      return {
        code: ErrorCodes.BadRequest,
        message: `${head}. The request was malformed; this is a bug to report`,
      };
    case 401:
      return {
        code: ErrorCodes.Unauthorized,
        message:
          `${head}. The token is missing, expired or revoked; set ${TOKEN_ENV[op.forge]} or pass options.token ` +
          `with a valid token (${TOKEN_NEEDS[op.forge]})`,
      };
    case 403:
      return {
        code: ErrorCodes.Forbidden,
        message: `${head}. The token lacks permission, or branch protection forbids it; it needs ${TOKEN_NEEDS[op.forge]}`,
      };
    case 404:
      return {
        code: ErrorCodes.NotFound,
        message:
          `${head}. Not found on ${op.host}: check the repository, branch and number, and that the token can ` +
          `see the repository (forges answer 404 to tokens without access to a private one)`,
      };
    case 409:
      return {
        code: ErrorCodes.Conflict,
        message: `${head}. It conflicts with the current state; read it again and retry`,
      };
    case 422:
      return {
        code: ErrorCodes.Invalid,
        message: `${head}. ${forge} found the request invalid; fix what it names`,
      };
    case 429:
      return {
        code: ErrorCodes.TooManyRequests,
        message: `${head}. The rate limit is exhausted; retry later`,
      };
    default:
      if (status >= 500) {
        return {
          code: ErrorCodes.ServiceUnavailable,
          message: `${head}. ${forge} kept failing after retries; check its status page and try again later`,
        };
      }
      return { code: ErrorCodes.InternalError, message: `${head}. Unexpected answer from ${forge}` };
  }
}

/** The error for a non-2xx answer; `forgeMessage` is what the forge said (scrubbed here). */
export function forgeHttpError(
  op: ForgeOperation,
  status: number,
  forgeMessage: string,
  options: { retryAfterSeconds?: number; cause?: unknown } = {},
): GitOpsError {
  const { code, message } = codeAndAdvice(status, op, forgeSays(forgeMessage, op));
  const details: Record<string, unknown> = { forge: op.forge, status, action: op.action, host: op.host };
  if (op.repository !== undefined) details.repository = op.repository;
  if (options.retryAfterSeconds !== undefined) details.retryAfterSeconds = options.retryAfterSeconds;
  return new GitOpsError(code, message, { details, cause: options.cause });
}

/** The error for a request that got no answer at all. */
export function forgeNetworkError(op: ForgeOperation, cause: unknown): GitOpsError {
  // Our fetch already says "cannot connect" or "no answer within"; a raw error's own cause says why.
  const reason =
    cause instanceof GitOpsError
      ? cause.message
      : cause instanceof Error
        ? ((cause.cause as Error | undefined)?.message ?? cause.message)
        : '';
  return new GitOpsError(
    ErrorCodes.Unreachable,
    `cannot reach ${FORGE_NAMES[op.forge]} at ${op.host} to ${op.action}${forgeSays(reason, op)}; check the ` +
      `base URL, the network and any proxy`,
    { details: { forge: op.forge, action: op.action, host: op.host }, cause },
  );
}

/** Reads the message out of a forge's error body: `{message}`, `{message, errors}`, `{error}` or text. */
export function forgeErrorMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      return forgeErrorMessage(JSON.parse(body) as unknown);
    } catch {
      return body.slice(0, 400);
    }
  }
  if (body === null || typeof body !== 'object') return '';
  const record = body as Record<string, unknown>;
  const parts: string[] = [];
  const main = record.message ?? record.error;
  if (typeof main === 'string') parts.push(main);
  else if (main !== undefined) parts.push(JSON.stringify(main));
  if (Array.isArray(record.errors)) {
    for (const e of record.errors) {
      if (typeof e === 'string') parts.push(e);
      else if (e && typeof e === 'object') {
        const m = (e as Record<string, unknown>).message ?? (e as Record<string, unknown>).code;
        if (typeof m === 'string') parts.push(m);
      }
    }
  }
  if (typeof record.error_description === 'string') parts.push(record.error_description);
  return parts.join('; ');
}
