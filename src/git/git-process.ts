/**
 * Runs git as a child process with argument arrays (never a shell) and an environment built
 * from scratch: no global or system config, no prompts, only the file, git, http, https and
 * ssh protocols, a C locale for stable messages, and repository discovery fenced at the
 * repository's own folder, so a folder that is not a repository never falls back to a parent.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';

import { ErrorCodes, GitOpsError, abortedError } from '../runtime/index.js';
import { classifyGitFailure } from './git-error.js';

/** Options every invocation of git takes. */
export interface GitRunOptions {
  /** Folder to run in; discovery never goes above it. */
  cwd?: string;
  signal?: AbortSignal;
  /** Extra environment for this child only (credentials, identities). */
  env?: Record<string, string>;
  /** Bytes written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Exit codes that are answers rather than failures (e.g. 1 for `merge-base --is-ancestor`). */
  okExitCodes?: readonly number[];
  /** Strings scrubbed from every message. */
  secrets?: readonly string[];
}

export interface GitRunResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

// Variables a child may inherit; everything else (GIT_DIR, GIT_*, SSH_AUTH_SOCK...) is dropped.
const INHERITED = [
  'PATH',
  'TMPDIR',
  'SYSTEMROOT',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GIT_SSL_CAINFO',
  'GIT_EXEC_PATH',
];

/** Arguments placed before every subcommand. */
export const BASE_ARGS: readonly string[] = ['-c', 'protocol.ext.allow=never', '-c', 'core.quotePath=false'];

/** The environment git runs with; `extra` wins over the base. */
export function gitEnvironment(
  cwd: string | undefined,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, {
    LC_ALL: 'C',
    LANG: 'C',
    // HOME under /dev/null cannot hold files, so no per-user git file can be planted there.
    HOME: '/dev/null',
    XDG_CONFIG_HOME: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_OPTIONAL_LOCKS: '0',
  });
  if (cwd !== undefined) env.GIT_CEILING_DIRECTORIES = dirname(cwd);
  Object.assign(env, extra);
  return env;
}

function abortError(command: string, signal: AbortSignal): GitOpsError {
  return abortedError(signal, `git ${command}`).withDetails({ command: `git ${command}` });
}

/** Starts git with `args`; the caller owns the child. Used for long-lived processes. */
export function spawnGit(args: readonly string[], options: GitRunOptions = {}): ChildProcess {
  return spawn('git', [...BASE_ARGS, ...args], {
    cwd: options.cwd,
    env: gitEnvironment(options.cwd, options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    shell: false,
    windowsHide: true,
  });
}

const MAX_STDERR_BYTES = 1 << 20;

/** Runs `git <args>` to completion; a non-zero exit becomes a typed GitOpsError. */
export function runGit(args: readonly string[], options: GitRunOptions = {}): Promise<GitRunResult> {
  const command = args[0] ?? '';
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(abortError(command, signal));
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnGit(args, options);
    } catch (cause) {
      reject(new GitOpsError(ErrorCodes.GitError, `could not start git: ${String(cause)}`, { cause }));
      return;
    }
    const out: Buffer[] = [];
    let err = '';
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (err.length < MAX_STDERR_BYTES) err += chunk;
    });
    child.on('error', (cause) => {
      signal?.removeEventListener('abort', onAbort);
      const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new GitOpsError(
          ErrorCodes.GitError,
          missing ? 'git is not installed or not on PATH' : `could not run git ${command}: ${cause.message}`,
          { cause, details: { command: `git ${command}` } },
        ),
      );
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (aborted && signal !== undefined) {
        reject(abortError(command, signal));
        return;
      }
      const stdout = Buffer.concat(out);
      if (code !== null && (code === 0 || options.okExitCodes?.includes(code))) {
        resolve({ stdout, stderr: err, exitCode: code });
        return;
      }
      reject(
        classifyGitFailure({
          command,
          args,
          exitCode: code,
          signal: killedBy,
          stderr: err,
          secrets: options.secrets ?? [],
          cwd: options.cwd,
        }),
      );
    });
    if (child.stdin !== null) {
      // A child that exits before reading its input closes the pipe; that is not our error.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input ?? '');
    }
  });
}
