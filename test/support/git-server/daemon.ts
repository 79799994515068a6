/**
 * `git daemon` serving every repository under one folder over git://, with push enabled
 * (git:// has no authentication; tests use it for the plain protocol and for fault tests).
 */
import { join } from 'node:path';

import { isolatedGitEnv, gitExecPath } from './git-command.js';
import type { GitRemote } from './repo.js';
import { ServerProcess } from './server-process.js';
import { onFreePort } from './transport-server.js';
import type { TransportServer } from './transport-server.js';

export interface GitDaemonServer extends TransportServer {
  readonly transport: 'git';
}

export interface GitDaemonOptions {
  /** The folder whose repositories are served (`<name>.git`). */
  reposDir: string;
  /** Called with each daemon pid, to record it for stale-process sweeps. */
  onSpawn?: (pid: number) => void;
}

export async function startGitDaemon(options: GitDaemonOptions): Promise<GitDaemonServer> {
  const daemon = join(await gitExecPath(), 'git-daemon');
  const processFor = (port: number): ServerProcess =>
    new ServerProcess({
      name: `git daemon on 127.0.0.1:${port}`,
      command: daemon,
      args: [
        // --verbose makes it say "Ready to rumble" once it listens, which is the readiness signal.
        '--verbose',
        '--reuseaddr',
        '--export-all',
        '--enable=receive-pack',
        '--informative-errors',
        `--base-path=${options.reposDir}`,
        '--listen=127.0.0.1',
        `--port=${port}`,
        // Serve nothing outside the repositories folder, whatever path a client asks for.
        '--',
        options.reposDir,
      ],
      env: isolatedGitEnv(),
      ready: /Ready to rumble/,
      onSpawn: options.onSpawn,
    });
  const { port, server } = await onFreePort(async (candidate) => {
    const started = processFor(candidate);
    await started.start();
    return { port: candidate, server: started };
  });
  const urlOf = (name: string): string => `git://127.0.0.1:${port}/${name}.git`;
  return {
    transport: 'git',
    port,
    get running() {
      return server.running;
    },
    urlOf,
    remoteOf: (name: string): GitRemote => ({ transport: 'git', url: urlOf(name), env: {} }),
    stop: () => server.stop(),
    restart: async () => {
      await server.stop();
      await server.start();
    },
  };
}
