/**
 * Push webhooks as sync triggers: a delivery is verified (size, sender, signature; GitHub,
 * GitLab, Gitea or the generic HMAC format) against the operator's own repositories, and a
 * genuine push fetches the matching repository once, which triggers its applications.
 */
import { parseRepositoryRef, repositoryKey, verifyWebhook } from '../forge/index.js';
import type { WebhookOutcome, WebhookRequest } from '../forge/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { Operator } from './operator.js';

export interface PushTriggerOptions {
  /** The secret set on the forge's webhook (several during a rotation). */
  secret: string | readonly string[];
  maxBytes?: number;
  /** Delivery ids already received: a verified delivery seen again is refused (409). */
  deliveries?: DeliveryMemory;
}

/**
 * A short memory of webhook delivery ids (GitHub's X-GitHub-Delivery, Gitea's X-Gitea-Delivery,
 * GitLab's X-Gitlab-Event-UUID, the generic X-Delivery), so a captured delivery replayed within
 * the window is refused. Only ids of deliveries whose signature was good are kept; the oldest
 * go first when `maxEntries` is reached. `now` is the clock (tests pass their own).
 */
export class DeliveryMemory {
  readonly #seen = new Map<string, number>();

  constructor(
    readonly ttlMs = 60 * 60 * 1000,
    readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records `id`; false when it was already seen within the window. */
  remember(id: string): boolean {
    const now = this.now();
    // Entries are in insertion order, which is time order: expired ones are at the front.
    for (const [old, at] of this.#seen) {
      if (now - at < this.ttlMs) break;
      this.#seen.delete(old);
    }
    const at = this.#seen.get(id);
    if (at !== undefined && now - at < this.ttlMs) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now);
    while (this.#seen.size > this.maxEntries) this.#seen.delete(this.#seen.keys().next().value!);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
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
  const id = outcome.deliveryId;
  if (id !== undefined && options.deliveries !== undefined && !options.deliveries.remember(id)) {
    throw new GitOpsError(
      ErrorCodes.Conflict,
      `webhook delivery ${JSON.stringify(id)} was already received`,
      {
        details: { status: 409 },
      },
    );
  }
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
