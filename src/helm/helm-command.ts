/**
 * The `helm` command: found through a setting, the LIBGITOPS_HELM environment variable, or PATH,
 * and run with argument arrays in an environment of its own (private cache, config and data
 * folders; no plugins), so nothing of the host's Helm setup changes what a chart renders to.
 */
import { execFile } from 'node:child_process';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';

export const HELM_ENV = 'LIBGITOPS_HELM';

/** The helm binary to run: the one given, else `$LIBGITOPS_HELM`, else `helm` on PATH. */
export function helmBinary(given?: string): string {
  return given ?? process.env[HELM_ENV] ?? 'helm';
}

export interface HelmRunOptions {
  /** Folder for Helm's cache, config and data (HELM_*_HOME). */
  home: string;
  cwd?: string;
  timeoutMs: number;
  stdin?: string;
  signal?: AbortSignal;
}

export interface HelmFailure {
  stderr: string;
  exitCode: number | string | null;
}

/** Runs helm; resolves with stdout, or rejects with a GitOpsError carrying helm's own message. */
export function runHelm(binary: string, args: readonly string[], options: HelmRunOptions): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.home,
    HELM_CACHE_HOME: `${options.home}/cache`,
    HELM_CONFIG_HOME: `${options.home}/config`,
    HELM_DATA_HOME: `${options.home}/data`,
    HELM_PLUGINS: `${options.home}/plugins`,
    HELM_NO_PLUGINS: '1',
    // No cluster is ever contacted: `template` gets versions from flags.
    KUBECONFIG: '/dev/null',
  };
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      [...args],
      {
        env,
        cwd: options.cwd,
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        timeout: options.timeoutMs,
        signal: options.signal,
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        const message = missing
          ? `the helm command "${binary}" was not found; install Helm 3 or set ${HELM_ENV} (or the helm setting) to its path`
          : [
              // `dependency build` tells why a repository could not be read on stdout only.
              ...stdout
                .split('\n')
                .filter((l) =>
                  /unable to get|failed to fetch|x509|certificate|tls:|\b(401|403|404)\b/i.test(l),
                ),
              stderr.trim().replace(/^Error: /, ''),
            ]
              .map((l) => l.trim())
              .filter((l) => l !== '')
              .join('; ') || error.message;
        reject(
          new GitOpsError(missing ? ErrorCodes.ServiceUnavailable : ErrorCodes.RenderFailed, message, {
            cause: error,
            details: { command: 'helm', subcommand: args[0] },
          }),
        );
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}
