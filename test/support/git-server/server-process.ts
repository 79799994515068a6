/**
 * A long-running server process (git-daemon, sshd) owned by a test: started and stopped on
 * demand, its stderr kept for error messages, and killed when the test process ends, even if
 * a test failed or forgot close().
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { killAtExit, releaseAtExit } from './cleanup.js';

export interface ServerProcessSpec {
  /** What it is, for messages: e.g. `git daemon on 127.0.0.1:9418`. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** A stderr line that says the server listens, e.g. sshd's `Server listening on`. */
  ready: RegExp;
  /** Called with each new process's pid, so the owner can record it for stale-process sweeps. */
  onSpawn?: (pid: number) => void;
}

const tailLength = 60;
const startTimeoutMs = 30_000;
const stopTimeoutMs = 5_000;

export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly tail: string[] = [];

  constructor(private readonly spec: ServerProcessSpec) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the server wrote, for a message a person can act on. */
  get log(): string {
    return this.tail.join('\n');
  }

  /** Starts the server and resolves once it said it listens; rejects with its output if it died first. */
  async start(): Promise<void> {
    if (this.child) return;
    const { name, command, args, env, ready } = this.spec;
    this.tail.length = 0;
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let onReady: () => void = () => {};
    const readySeen = new Promise<void>((resolve) => (onReady = resolve));
    const onLine = (line: string): void => {
      this.tail.push(line);
      if (this.tail.length > tailLength) this.tail.shift();
      if (ready.test(line)) onReady();
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
      if (child.pid !== undefined) releaseAtExit(child.pid);
    });
    if (child.pid !== undefined) {
      killAtExit(child.pid);
      this.spec.onSpawn?.(child.pid);
    }

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), startTimeoutMs);
    });
    const outcome = await Promise.race([
      readySeen.then(() => 'ready' as const),
      this.exited.then(() => 'exited' as const),
      timedOut,
    ]);
    clearTimeout(timer);
    if (outcome === 'ready') return;
    await this.stop();
    const why =
      outcome === 'timeout'
        ? `did not report it was listening within ${startTimeoutMs} ms`
        : 'exited at start';
    throw new GitOpsError(
      ErrorCodes.Unreachable,
      `${name} ${why}: ${spawnError?.message ?? ''}\n${this.log}`,
      {
        details: { command },
        cause: spawnError,
      },
    );
  }

  /** Stops the server (SIGTERM, then SIGKILL if it lingers) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const lingering = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), stopTimeoutMs);
    });
    if (await Promise.race([this.exited.then(() => false), lingering])) {
      child.kill('SIGKILL');
      await this.exited;
    }
    clearTimeout(timer);
    this.child = undefined;
  }
}
