/**
 * The forge layer: pull requests on GitHub, GitLab and Gitea behind one interface, and push
 * webhooks of each (plus a generic signed sender) parsed and verified.
 */
export type {
  AutoMergeOutcome,
  ForgeKind,
  MergeMethod,
  MergeOptions,
  PullRequest,
  PullRequestProvider,
  PullRequestRef,
  PullRequestRequest,
  PullRequestResult,
  PullRequestState,
} from './pull-request.js';
export { createProvider, defaultBaseUrl, detectForge, providerFor, resolveToken } from './provider-for.js';
export type { ProviderOptions } from './provider-for.js';
export type { ProviderConfig } from './provider-config.js';
export { normaliseBaseUrl } from './provider-config.js';
export { GitHubProvider } from './github-provider.js';
export { GitLabProvider } from './gitlab-provider.js';
export { GiteaProvider } from './gitea-provider.js';
export { FORGE_NAMES, TOKEN_ENV } from './forge-error.js';
export { createForgeFetch } from './forge-fetch.js';
export type { ForgeFetch, ForgeFetchOptions, RetryEvent } from './forge-fetch.js';
export type { RetryOptions } from './retry-policy.js';
export { parseRepositoryRef, repositoryKey } from './repository-ref.js';
export type { RepositoryRef } from './repository-ref.js';
export { parsePushEvent } from './push-event.js';
export type { PushEvent, PushRepository, WebhookProvider } from './push-event.js';
export { DEFAULT_WEBHOOK_MAX_BYTES, verifyWebhook, webhookErrorStatus } from './webhook-verify.js';
export type { WebhookConfig, WebhookHeaders, WebhookOutcome, WebhookRequest } from './webhook-verify.js';
export { readWebhookBody } from './webhook-body.js';
export {
  hexSignatureMatches,
  hmacSha256Hex,
  sharedTokenMatches,
  signSha256Header,
} from './webhook-signature.js';
