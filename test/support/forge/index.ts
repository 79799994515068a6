/** The test forge: a real Gitea built from source, started headless on 127.0.0.1. */
export type { ForgeAuth } from './api.js';
export { GiteaApi } from './api.js';
export type { GiteaBuild } from './build.js';
export { ensureGitea, GITEA_VERSION } from './build.js';
export { gitAuthEnv } from './git-auth.js';
export type { Forge, StartForgeOptions } from './server.js';
export { startForge } from './server.js';
export type {
  CreatePullRequestOptions,
  CreateRepoOptions,
  CreateUserOptions,
  CreateWebhookOptions,
  ForgeRepo,
  ForgeUser,
  PullRequest,
  PullRequestBranch,
  Webhook,
} from './types.js';
