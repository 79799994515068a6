/**
 * A real, headless Gitea for tests: its own temp work dir, SQLite, a free port on 127.0.0.1,
 * and a bootstrap admin created through the gitea CLI. Everything else goes through the API.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { freePort, waitFor } from '../cache.js';
import type { ForgeAuth } from './api.js';
import { GiteaApi, segment } from './api.js';
import { renderAppIni } from './app-ini.js';
import type { GiteaBuild } from './build.js';
import { ensureGitea } from './build.js';
import { gitAuthEnv } from './git-auth.js';
import type {
  CreatePullRequestOptions,
  CreateRepoOptions,
  CreateUserOptions,
  CreateWebhookOptions,
  ForgeRepo,
  ForgeUser,
  PullRequest,
  Webhook,
} from './types.js';

const run = promisify(execFile);

export interface StartForgeOptions {
  /** How long to wait for /api/healthz (default 60 s: the machine may be busy). */
  startTimeoutMs?: number;
  /** Keep the work dir after stop(), e.g. to read its logs. */
  keepWorkDir?: boolean;
}

export interface Forge {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly version: string;
  readonly workDir: string;
  /** Gitea's own log (requests, errors): read it when a test fails. */
  readonly logFile: string;
  /** The bootstrap site admin; the helpers act as this user unless given other credentials. */
  readonly admin: { username: string; password: string };
  /** Raw API access: `request('GET', '/repos/o/r')` calls `/api/v1/repos/o/r`. */
  readonly api: GiteaApi;
  stop(): Promise<void>;
  createUser(name: string, password: string, options?: CreateUserOptions): Promise<ForgeUser>;
  /** A personal access token of `user`, created with the user's own password. */
  createToken(user: string, password: string, name: string, scopes?: string[]): Promise<string>;
  createRepo(owner: string, name: string, options?: CreateRepoOptions): Promise<ForgeRepo>;
  createPullRequest(
    owner: string,
    repo: string,
    options: CreatePullRequestOptions,
    auth?: ForgeAuth,
  ): Promise<PullRequest>;
  listPullRequests(owner: string, repo: string, state?: 'open' | 'closed' | 'all'): Promise<PullRequest[]>;
  getPullRequest(owner: string, repo: string, index: number): Promise<PullRequest>;
  createWebhook(owner: string, repo: string, options: CreateWebhookOptions): Promise<Webhook>;
  /** Environment for git commands that authenticates `username` with `token` to this forge. */
  gitAuthEnv(username: string, token: string): Record<string, string>;
}

interface GiteaUserJson {
  id: number;
  login: string;
  email: string;
  is_admin: boolean;
}

interface GiteaRepoJson {
  id: number;
  name: string;
  full_name: string;
  owner: { login: string };
  clone_url: string;
  html_url: string;
  default_branch: string;
  empty: boolean;
  private: boolean;
}

interface GiteaBranchJson {
  ref: string;
  sha: string;
  repo?: { full_name: string } | null;
}

interface GiteaPullJson {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  merged: boolean;
  head: GiteaBranchJson;
  base: GiteaBranchJson;
  user: { login: string };
  html_url: string;
}

interface GiteaHookJson {
  id: number;
  config: { url?: string };
  events: string[];
  active: boolean;
}

function toUser(u: GiteaUserJson): ForgeUser {
  return { id: u.id, username: u.login, email: u.email, isAdmin: u.is_admin };
}

function toRepo(r: GiteaRepoJson): ForgeRepo {
  return {
    id: r.id,
    owner: r.owner.login,
    name: r.name,
    fullName: r.full_name,
    cloneUrl: r.clone_url,
    htmlUrl: r.html_url,
    defaultBranch: r.default_branch,
    empty: r.empty,
    private: r.private,
  };
}

function toPull(p: GiteaPullJson): PullRequest {
  const branch = (b: GiteaBranchJson) => ({ ref: b.ref, sha: b.sha, repo: b.repo?.full_name });
  return {
    number: p.number,
    title: p.title,
    body: p.body ?? '',
    state: p.state,
    merged: p.merged,
    head: branch(p.head),
    base: branch(p.base),
    author: p.user.login,
    htmlUrl: p.html_url,
  };
}

function log(message: string): void {
  process.stderr.write(`[forge] ${message}\n`);
}

async function tail(path: string, lines = 30): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}

function startFailure(message: string, details: Record<string, unknown>, cause?: unknown): GitOpsError {
  return new GitOpsError(ErrorCodes.ServiceUnavailable, `cannot start the test forge: ${message}`, {
    cause,
    details,
  });
}

/** Everything about one Gitea process and its files. */
class GiteaInstance {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = () => this.killGroup('SIGKILL');

  constructor(
    readonly build: GiteaBuild,
    readonly workDir: string,
    readonly configFile: string,
  ) {}

  get logFile(): string {
    return join(this.workDir, 'log', 'gitea.log');
  }

  get consoleFile(): string {
    return join(this.workDir, 'log', 'console.log');
  }

  /** Gitea reads only its own config; HOME keeps the user's ~/.gitconfig out of its git calls. */
  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(this.workDir, 'home') };
    for (const key of Object.keys(env)) if (key.startsWith('GITEA_')) delete env[key];
    env.GITEA_WORK_DIR = this.workDir;
    return env;
  }

  private globalArgs(): string[] {
    return ['--config', this.configFile, '--work-path', this.workDir];
  }

  /** Runs a gitea CLI command against the instance's database. */
  async cli(args: string[], what: string): Promise<string> {
    try {
      const { stdout } = await run(this.build.binary, [...this.globalArgs(), ...args], {
        cwd: this.workDir,
        env: this.env(),
        timeout: 120_000,
        maxBuffer: 4 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string };
      // The CLI prints generated passwords; keep such lines out of the error.
      const output = `${e.stdout ?? ''}\n${e.stderr ?? ''}`
        .split('\n')
        .filter((l) => l.trim() && !/password|token/i.test(l))
        .slice(-15)
        .join('\n');
      throw startFailure(`${what} failed:\n${output}`, { step: what, workDir: this.workDir }, err);
    }
  }

  /** Starts `gitea web` and resolves once /api/healthz passes; rejects if the process exits first. */
  async startWeb(url: string, timeoutMs: number): Promise<void> {
    const out = openSync(this.consoleFile, 'a');
    let exitCode: number | null | undefined;
    try {
      // Own process group, so stop() also ends the git processes Gitea spawns.
      this.child = spawn(this.build.binary, [...this.globalArgs(), 'web'], {
        cwd: this.workDir,
        env: this.env(),
        stdio: ['ignore', out, out],
        detached: true,
      });
    } finally {
      closeSync(out);
    }
    const child = this.child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        exitCode = code;
        resolve();
      });
      child.once('error', () => {
        exitCode = -1;
        resolve();
      });
    });
    process.once('exit', this.killOnExit);

    await waitFor(
      `Gitea health at ${url}/api/healthz`,
      async () => {
        if (exitCode !== undefined) return true;
        const response = await fetch(`${url}/api/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (response.status !== 200) return false;
        const health = (await response.json()) as { status?: string };
        return health.status === 'pass';
      },
      timeoutMs,
      100,
    ).catch(async (err: unknown) => {
      await this.stop();
      throw startFailure(
        `Gitea did not become healthy within ${timeoutMs} ms.\n${await tail(this.logFile)}`,
        { workDir: this.workDir, url },
        err,
      );
    });
    if (exitCode !== undefined) {
      await this.stop();
      const why = `${await tail(this.consoleFile)}\n${await tail(this.logFile)}`.trim();
      throw startFailure(`gitea web exited with code ${String(exitCode)}:\n${why}`, {
        workDir: this.workDir,
        url,
        exitCode,
        portInUse: /address already in use/i.test(why),
      });
    }
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (!this.child) return;
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }
}

/**
 * Builds Gitea if needed (cached), then starts a fresh instance. A forge that cannot be built
 * or started throws a GitOpsError (ServiceUnavailable) saying what is missing; tests must let
 * it fail the run rather than skip.
 */
export async function startForge(options: StartForgeOptions = {}): Promise<Forge> {
  const build = await ensureGitea();
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'libgitops-forge-'));
  for (const sub of ['data', 'log', 'home', 'git-home', 'custom']) await mkdir(join(workDir, sub));
  const configFile = join(workDir, 'custom', 'app.ini');
  const instance = new GiteaInstance(build, workDir, configFile);
  const admin = { username: 'forge-admin', password: '' };
  const runUser = userInfo().username;
  const allowRoot = process.getuid?.() === 0;

  let url = '';
  try {
    // The port is only known to be free when we ask; on a lost race, take another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      await writeFile(
        configFile,
        renderAppIni({ workDir, staticRoot: build.sourceDir, port, runUser, allowRoot }),
        { mode: 0o600 },
      );
      if (attempt === 1) {
        // Tables first (the CLI does not migrate), then the admin, while nothing else holds the DB.
        await instance.cli(['migrate'], 'gitea migrate');
        // Gitea generates the password, so it never shows in a process list as an argument.
        const created = await instance.cli(
          [
            'admin',
            'user',
            'create',
            '--username',
            admin.username,
            '--random-password',
            '--random-password-length',
            '24',
            '--email',
            `${admin.username}@forge.test`,
            '--admin',
            '--must-change-password=false',
          ],
          'gitea admin user create',
        );
        const password = /generated random password is '([^']+)'/.exec(created)?.[1];
        if (!password) throw startFailure('gitea admin user create printed no password', { workDir });
        admin.password = password;
      }
      try {
        await instance.startWeb(url, options.startTimeoutMs ?? 60_000);
        break;
      } catch (err) {
        const portInUse = err instanceof GitOpsError && err.details.portInUse === true;
        if (!portInUse || attempt >= 3) throw err;
      }
    }
  } catch (err) {
    await instance.stop();
    if (!options.keepWorkDir) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  log(`Gitea ${build.version} ready at ${url} in ${Date.now() - started} ms (work dir ${workDir})`);

  const api = new GiteaApi(url, admin);
  let stopped = false;
  const forge: Forge = {
    url,
    version: build.version,
    workDir,
    logFile: instance.logFile,
    admin,
    api,

    async stop() {
      if (stopped) return;
      stopped = true;
      await instance.stop();
      if (!options.keepWorkDir) await rm(workDir, { recursive: true, force: true });
    },

    async createUser(name, password, opts = {}) {
      const created = await api.request<GiteaUserJson>('POST', '/admin/users', {
        username: name,
        login_name: name,
        source_id: 0,
        email: opts.email ?? `${name}@forge.test`,
        password,
        must_change_password: false,
        send_notify: false,
        visibility: 'public',
      });
      if (!opts.admin) return toUser(created);
      const edited = await api.request<GiteaUserJson>('PATCH', `/admin/users/${segment(name)}`, {
        login_name: name,
        source_id: 0,
        admin: true,
      });
      return toUser(edited);
    },

    async createToken(user, password, name, scopes = ['all']) {
      const token = await api.request<{ sha1: string }>(
        'POST',
        `/users/${segment(user)}/tokens`,
        { name, scopes },
        { username: user, password },
      );
      return token.sha1;
    },

    async createRepo(owner, name, opts = {}) {
      const autoInit = opts.autoInit ?? true;
      const repo = await api.request<GiteaRepoJson>('POST', `/admin/users/${segment(owner)}/repos`, {
        name,
        auto_init: autoInit,
        readme: autoInit ? 'Default' : undefined,
        default_branch: opts.defaultBranch ?? 'main',
        private: opts.private ?? false,
        description: opts.description ?? '',
      });
      return toRepo(repo);
    },

    async createPullRequest(owner, repo, opts, auth) {
      const pull = await api.request<GiteaPullJson>(
        'POST',
        `/repos/${segment(owner)}/${segment(repo)}/pulls`,
        { title: opts.title, head: opts.head, base: opts.base, body: opts.body ?? '' },
        auth,
      );
      return toPull(pull);
    },

    async listPullRequests(owner, repo, state = 'all') {
      const pulls = await api.request<GiteaPullJson[]>(
        'GET',
        `/repos/${segment(owner)}/${segment(repo)}/pulls?state=${state}&limit=50`,
      );
      return pulls.map(toPull);
    },

    async getPullRequest(owner, repo, index) {
      return toPull(
        await api.request<GiteaPullJson>('GET', `/repos/${segment(owner)}/${segment(repo)}/pulls/${index}`),
      );
    },

    async createWebhook(owner, repo, opts) {
      const hook = await api.request<GiteaHookJson>(
        'POST',
        `/repos/${segment(owner)}/${segment(repo)}/hooks`,
        {
          type: 'gitea',
          config: { url: opts.url, content_type: 'json', secret: opts.secret },
          events: opts.events ?? ['push'],
          branch_filter: opts.branchFilter ?? '*',
          active: true,
        },
      );
      return { id: hook.id, url: hook.config.url ?? opts.url, events: hook.events, active: hook.active };
    },

    gitAuthEnv(username, token) {
      return gitAuthEnv(url, username, token);
    },
  };
  return forge;
}
