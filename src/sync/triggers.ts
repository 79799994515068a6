/**
 * Push webhooks as sync triggers: a delivery is verified (size, sender, signature; GitHub,
 * GitLab, Gitea or the generic HMAC format) against the operator's own repositories, and a
 * genuine push fetches the matching repository once, which triggers its applications.
 */
import { parseRepositoryRef, repositoryKey, verifyWebhook } from '../forge/index.js';
import type { WebhookOutcome, WebhookRequest } from '../forge/index.js';
import type { Operator } from './operator.js';

export interface PushTriggerOptions {
  /** The secret set on the forge's webhook (several during a rotation). */
  secret: string | readonly string[];
  maxBytes?: number;
}

export interface PushTriggerResult {
  outcome: WebhookOutcome;
  /** Repositories fetched because of this delivery. */
  fetched: number;
}

/**
 * Verifies one delivery and, for a push to a followed repository, fetches it. Throws the
 * verifier's GitOpsError (its `details.status` is the HTTP status to answer) for a bad one.
 */
export async function handlePushWebhook(
  operator: Operator,
  request: WebhookRequest,
  options: PushTriggerOptions,
): Promise<PushTriggerResult> {
  const repositories = operator.repositoryUrls();
  const outcome = verifyWebhook(request, {
    secret: options.secret,
    // With nothing followed yet, the verifier still checks the signature and says why it ignored the push.
    repositories: repositories.length > 0 ? repositories : ['none.invalid/none/none'],
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  });
  if (!outcome.accepted || outcome.push.deleted) return { outcome, fetched: 0 };
  const keys = new Set(outcome.push.repository.keys);
  let fetched = 0;
  for (const url of repositories) {
    if (!keys.has(keyOf(url))) continue;
    fetched += await operator.notifyPush(url, outcome.push.branch);
  }
  return { outcome, fetched };
}

function keyOf(url: string): string {
  try {
    return repositoryKey(parseRepositoryRef(url));
  } catch {
    return url;
  }
}
