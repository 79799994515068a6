/**
 * Real Git remotes for tests on 127.0.0.1, in one line:
 *
 *   const server = await startGitServer({ transports: ['git', 'http', 'ssh'], files: { 'a.yaml': '...' } });
 *   server.repo.over('ssh')   // { url: 'ssh://root@127.0.0.1:PORT/tmp/.../repo.git', env: { GIT_SSH_COMMAND } }
 *   await pushCommit(server.repo, { files: { 'b.yaml': '...' } });   // a colleague's push
 *   await server.close();
 *
 * Every transport serves every repository under one folder; stop() and restart() keep ports.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { forgetDir, ownedTempDir, recordChild } from './cleanup.js';
import { startGitDaemon } from './daemon.js';
import type { GitDaemonServer } from './daemon.js';
import { startHttpGitServer } from './http.js';
import type { HttpGitServer } from './http.js';
import { createBareRepo } from './repo.js';
import type { BareRepo, GitRemote, RepoContent, Transport } from './repo.js';
import { startSshGitServer } from './ssh.js';
import type { SshGitServer } from './ssh.js';
import type { TransportServer } from './transport-server.js';

export { createBareRepo, deleteBranch, forcePush, headOf, pushCommit } from './repo.js';
export type {
  BareRepo,
  Change,
  CreateBareRepoOptions,
  FileTree,
  ForcePushChange,
  GitRemote,
  RemoteLike,
  RepoContent,
  Transport,
} from './repo.js';
export { defaultAuthor, isolatedGitEnv, runGit, tryGit } from './git-command.js';
export type { CommitAuthor, GitFailure } from './git-command.js';
export type { GitDaemonServer } from './daemon.js';
export type { HttpCredentials, HttpGitServer, HttpRequestRecord } from './http.js';
export type { SshClientFiles, SshGitServer, SshKey } from './ssh.js';
export type { TransportServer } from './transport-server.js';

export const allTransports: readonly Transport[] = ['git', 'http', 'ssh'];

export interface StartGitServerOptions extends RepoContent {
  /** Which servers to start; all three unless told. */
  transports?: readonly Transport[];
  /** Name of the first repository, served as `<name>.git`; `repo` unless told. */
  name?: string;
  /** Fixed HTTP credentials instead of generated ones. */
  http?: { username?: string; password?: string; token?: string };
}

/** A bare repository the server serves, reachable by path or over any started transport. */
export interface ServedRepo extends BareRepo {
  name: string;
  /** The URL over each started transport. */
  urls: Partial<Record<Transport, string>>;
  /** URL and environment of this repository over `transport`. */
  over(transport: Transport): GitRemote;
}

export interface GitServer {
  /** The server's private temporary folder (removed by close()). */
  readonly root: string;
  /** Where the served bare repositories are (`<name>.git`). */
  readonly reposDir: string;
  readonly transports: readonly Transport[];
  /** The repository created at start. */
  readonly repo: ServedRepo;
  /** The git:// server; throws if it was not among `transports`. */
  readonly git: GitDaemonServer;
  /** The HTTP server with basic auth; throws if it was not among `transports`. */
  readonly http: HttpGitServer;
  /** The SSH server; throws if it was not among `transports`. */
  readonly ssh: SshGitServer;
  /** How long each server took to start, in milliseconds. */
  readonly startupMs: Readonly<Partial<Record<Transport, number>>>;
  /** The first repository (or `repo`) over `transport`. */
  remote(transport: Transport, repo?: ServedRepo | string): GitRemote;
  /** Another served repository, with an initial commit of `content`. */
  createRepo(name: string, content?: RepoContent): Promise<ServedRepo>;
  /** Stops every server (ports are kept for restart()). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops every server and removes every file; safe to call twice. */
  close(): Promise<void>;
}

function checkRepoName(name: string): void {
  const segment = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
  if (!name.split('/').every((part) => segment.test(part)) || name.endsWith('.git')) {
    throw new GitOpsError(
      ErrorCodes.InvalidName,
      `"${name}" is not a repository name: use letters, digits, ".", "_", "-" and "/" between parts, without ".git"`,
      { details: { field: 'name' } },
    );
  }
}

/** Starts the asked-for servers over one folder of repositories, with a first repository in it. */
export async function startGitServer(options: StartGitServerOptions = {}): Promise<GitServer> {
  const transports = [...new Set(options.transports ?? allTransports)];
  const name = options.name ?? 'repo';
  checkRepoName(name);
  const root = await ownedTempDir();
  const reposDir = join(root, 'repos');
  const servers: Partial<Record<Transport, TransportServer>> = {};
  const startupMs: Partial<Record<Transport, number>> = {};
  const onSpawn = (pid: number): void => recordChild(root, pid);
  let closed = false;

  const stopAll = async (): Promise<void> => {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  };
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await stopAll();
    await rm(root, { recursive: true, force: true });
    forgetDir(root);
  };

  const served = (repo: BareRepo, repoName: string): ServedRepo => ({
    ...repo,
    name: repoName,
    // A getter, because the first repository exists before the servers that serve it.
    get urls() {
      return Object.fromEntries(
        Object.entries(servers).map(([transport, server]) => [transport, server.urlOf(repoName)]),
      );
    },
    over: (transport: Transport) => serverFor(transport).remoteOf(repoName),
  });
  const serverFor = (transport: Transport): TransportServer => {
    const server = servers[transport];
    if (server === undefined) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `the ${transport} transport was not started; pass it in startGitServer({ transports: [...] })`,
        { details: { field: 'transports' } },
      );
    }
    return server;
  };
  const createRepo = async (repoName: string, content: RepoContent = {}): Promise<ServedRepo> => {
    checkRepoName(repoName);
    const path = join(reposDir, `${repoName}.git`);
    await mkdir(join(path, '..'), { recursive: true });
    return served(await createBareRepo({ ...content, path }), repoName);
  };

  try {
    await mkdir(reposDir, { recursive: true });
    const first = await createRepo(name, options);
    const starters: Record<Transport, () => Promise<TransportServer>> = {
      git: () => startGitDaemon({ reposDir, onSpawn }),
      http: () => startHttpGitServer({ reposDir, stateDir: root, ...options.http }),
      ssh: () => startSshGitServer({ reposDir, stateDir: join(root, 'ssh'), onSpawn }),
    };
    const results = await Promise.allSettled(
      transports.map(async (transport) => {
        const began = performance.now();
        servers[transport] = await starters[transport]();
        startupMs[transport] = Math.round(performance.now() - began);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    return {
      root,
      reposDir,
      transports,
      repo: first,
      get git() {
        return serverFor('git') as GitDaemonServer;
      },
      get http() {
        return serverFor('http') as HttpGitServer;
      },
      get ssh() {
        return serverFor('ssh') as SshGitServer;
      },
      startupMs,
      remote: (transport, repo = first) =>
        serverFor(transport).remoteOf(typeof repo === 'string' ? repo : repo.name),
      createRepo,
      stop: stopAll,
      restart: async () => {
        await Promise.all(Object.values(servers).map((server) => server.restart()));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
