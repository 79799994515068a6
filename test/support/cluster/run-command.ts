/**
 * Runs the external commands the control plane needs (go, openssl, the servers' --version)
 * with argument arrays only, keeping a log file and the last lines for error messages.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Every output line (stdout and stderr) is appended here. */
  logFile?: string;
  /** Called with each output line, e.g. to count compiled packages. */
  onLine?: (line: string) => void;
  /** Called with stdout as it arrives, for commands whose stdout is data (e.g. `-json`). */
  onStdout?: (chunk: string) => void;
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  /** The last lines of output, for a message a person can act on. */
  tail: string[];
}

const tailLength = 40;

/** Runs `command` to its end; resolves with its exit code (never throws on a non-zero exit). */
export async function runLogged(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  log?.write(`$ ${command} ${args.join(' ')}\n`);
  const tail: string[] = [];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: options.signal,
  });
  const onLine = (line: string): void => {
    log?.write(`${line}\n`);
    tail.push(line);
    if (tail.length > tailLength) tail.shift();
    options.onLine?.(line);
  };
  if (options.onStdout) {
    const onStdout = options.onStdout;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => onStdout(chunk));
  } else {
    createInterface({ input: child.stdout }).on('line', onLine);
  }
  createInterface({ input: child.stderr }).on('line', onLine);
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    return { exitCode, tail };
  } catch (err) {
    throw notFoundOr(command, err);
  } finally {
    await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  }
}

/** Runs `command` and returns its stdout; a non-zero exit throws with its stderr. */
export async function commandOutput(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(notFoundOr(command, err));
        reject(
          new GitOpsError(
            ErrorCodes.ServiceUnavailable,
            `${command} ${args[0] ?? ''} failed: ${stderr.trim().split('\n').slice(-10).join('\n') || err.message}`,
            { details: { command }, cause: err },
          ),
        );
      },
    );
  });
}

const installHints: Record<string, string> = {
  go: 'install Go 1.23+ (https://go.dev/dl/)',
  openssl: 'install openssl (Debian: apt-get install openssl)',
  kubectl: 'install kubectl 1.32 (https://kubernetes.io/docs/tasks/tools/)',
};

function notFoundOr(command: string, err: unknown): unknown {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  const hint = installHints[command] ?? `install ${command}`;
  return new GitOpsError(
    ErrorCodes.ServiceUnavailable,
    `${command} not found on PATH: ${hint}, or set LIBGITOPS_TEST_KUBECONFIG to a cluster to test against`,
    { details: { command }, cause: err },
  );
}
