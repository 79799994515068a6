/** What the forge fixtures hand to tests: Gitea's objects reduced to the fields tests look at. */

export interface ForgeUser {
  id: number;
  username: string;
  email: string;
  isAdmin: boolean;
}

export interface ForgeRepo {
  id: number;
  owner: string;
  name: string;
  /** `owner/name`. */
  fullName: string;
  /** HTTP clone URL without credentials; authenticate with `gitAuthEnv`. */
  cloneUrl: string;
  htmlUrl: string;
  defaultBranch: string;
  /** True until the first push (or when created without autoInit). */
  empty: boolean;
  private: boolean;
}

export interface PullRequestBranch {
  /** Branch name, e.g. `feature`. */
  ref: string;
  sha: string;
  /** `owner/name` of the repository the branch lives in. */
  repo: string | undefined;
}

export interface PullRequest {
  /** The index within the repository (`#3`). */
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  merged: boolean;
  head: PullRequestBranch;
  base: PullRequestBranch;
  author: string;
  htmlUrl: string;
}

export interface Webhook {
  id: number;
  url: string;
  events: string[];
  active: boolean;
}

export interface CreateUserOptions {
  admin?: boolean;
  /** Defaults to `<name>@forge.test`. */
  email?: string;
}

export interface CreateRepoOptions {
  /** Create an initial commit (README) on the default branch. Default true. */
  autoInit?: boolean;
  /** Default `main`. */
  defaultBranch?: string;
  private?: boolean;
  description?: string;
}

export interface CreatePullRequestOptions {
  title: string;
  head: string;
  base: string;
  body?: string;
}

export interface CreateWebhookOptions {
  url: string;
  /** Gitea signs each delivery with HMAC-SHA256 of the body (header X-Gitea-Signature). */
  secret: string;
  /** Default `['push']`. */
  events?: string[];
  /** Default `*`. */
  branchFilter?: string;
}
