/**
 * Runs the git command line for the helpers, isolated from the machine's git configuration so
 * that a test never depends on who runs it (no global user.name, no system hooks or helpers).
 */
import { execFile } from 'node:child_process';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';

export interface CommitAuthor {
  name: string;
  email: string;
}

export const defaultAuthor: CommitAuthor = { name: 'Test Author', email: 'test.author@example.com' };

/** The environment every helper git runs with; `extra` (a remote's env) is added last. */
export function isolatedGitEnv(
  extra: Record<string, string> = {},
  author = defaultAuthor,
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
    ...extra,
  };
}

export interface GitRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface GitFailure {
  exitCode: number;
  stderr: string;
}

/** Runs git and returns stdout; a failure throws a GitError carrying git's own stderr. */
export async function runGit(args: string[], options: GitRunOptions = {}): Promise<string> {
  const result = await tryGit(args, options);
  if ('stdout' in result) return result.stdout;
  throw new GitOpsError(ErrorCodes.GitError, `git ${args[0] ?? ''} failed: ${result.stderr.trim()}`, {
    details: { command: `git ${args[0] ?? ''}`, exitCode: result.exitCode, cwd: options.cwd },
  });
}

/** Runs git and reports a failure as a value, for callers (and tests) that expect one. */
export function tryGit(
  args: string[],
  options: GitRunOptions = {},
): Promise<{ stdout: string } | GitFailure> {
  const fullArgs = ['-c', 'protocol.ext.allow=never', ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      fullArgs,
      {
        cwd: options.cwd,
        env: options.env ?? isolatedGitEnv(),
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return reject(
            new GitOpsError(
              ErrorCodes.GitError,
              'git is not installed or not on PATH (Debian: apt-get install git)',
              {
                cause: err,
              },
            ),
          );
        }
        resolve({ exitCode: typeof code === 'number' ? code : 1, stderr: stderr || err.message });
      },
    );
  });
}

let execPath: Promise<string> | undefined;

/** Where git keeps git-daemon and git-http-backend; run directly so no `git` wrapper sits between. */
export function gitExecPath(): Promise<string> {
  execPath ??= runGit(['--exec-path']).then((out) => out.trim());
  return execPath;
}
