/**
 * Reads git objects through one long-lived `git cat-file --batch` process. Requests are
 * written one line each and answered in order, so any number of concurrent reads share the
 * process (pipelined, no process per file). The process starts on first use and is started
 * again if it dies; pending reads of a dead process fail with a typed error.
 */
import type { ChildProcess } from 'node:child_process';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { spawnGit } from './git-process.js';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface GitObject {
  oid: string;
  type: ObjectType;
  content: Buffer;
}

interface Pending {
  request: string;
  resolve(object: GitObject | undefined): void;
  reject(error: GitOpsError): void;
}

export interface GitObjectReaderOptions {
  cwd: string;
  env?: Record<string, string>;
}

export class GitObjectReader {
  private child: ChildProcess | undefined;
  private queue: Pending[] = [];
  // Unparsed output, kept as chunks so a large blob is joined once, not once per chunk.
  private chunks: Buffer[] = [];
  private length = 0;
  /** Header of the object whose content is still arriving. */
  private current: { oid: string; type: ObjectType; size: number } | undefined;
  private closed = false;
  private started = 0;
  private stderr = '';

  constructor(private readonly options: GitObjectReaderOptions) {}

  /** How many cat-file processes this reader has started (1 unless one died). */
  get processesStarted(): number {
    return this.started;
  }

  /** The running process id, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Reads `spec` (an object id, or `<rev>:<path>`; callers validate both parts). Resolves with
   * undefined when git answers "missing".
   */
  read(spec: string): Promise<GitObject | undefined> {
    if (this.closed) {
      return Promise.reject(new GitOpsError(ErrorCodes.Aborted, 'the object reader is closed'));
    }
    if (/[\n\r\0]/.test(spec)) {
      return Promise.reject(
        new GitOpsError(ErrorCodes.Invalid, 'an object name cannot contain a line break or NUL', {
          details: { field: 'object' },
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const child = this.ensureProcess();
      this.queue.push({ request: spec, resolve, reject });
      child.stdin?.write(`${spec}\n`);
    });
  }

  /** Stops the process; pending reads fail with Aborted. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    this.failAll(new GitOpsError(ErrorCodes.Aborted, 'the object reader was closed'));
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.stdin?.end();
      // cat-file exits at end of input; the timer only guards against a stuck child.
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      timer.unref();
    });
  }

  private ensureProcess(): ChildProcess {
    if (this.child !== undefined) return this.child;
    const child = spawnGit(['cat-file', '--batch'], { cwd: this.options.cwd, env: this.options.env });
    this.started += 1;
    this.child = child;
    this.chunks = [];
    this.length = 0;
    this.current = undefined;
    this.stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (this.stderr.length < 8192) this.stderr += chunk;
    });
    child.stdin?.on('error', () => {});
    const onGone = (cause?: Error): void => {
      if (this.child !== child) return;
      this.child = undefined;
      const said = this.stderr.trim().split('\n').at(-1) ?? '';
      this.failAll(
        new GitOpsError(
          ErrorCodes.GitError,
          `git cat-file stopped unexpectedly${said === '' ? '' : `: ${said.replace(/^fatal: /, '')}`}`,
          { cause, details: { command: 'git cat-file', file: this.options.cwd } },
        ),
      );
    };
    child.on('error', (cause) => onGone(cause));
    child.on('close', () => onGone());
    return child;
  }

  private failAll(error: GitOpsError): void {
    const pending = this.queue;
    this.queue = [];
    for (const p of pending) p.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.current !== undefined && this.length < this.current.size + 1) return;
    let rest = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.length);
    rest = this.parse(rest);
    this.chunks = rest.length === 0 ? [] : [rest];
    this.length = rest.length;
  }

  /** Settles every complete answer in `data`; returns what is left over. */
  private parse(data: Buffer): Buffer {
    let buffer = data;
    for (;;) {
      if (this.current === undefined) {
        const newline = buffer.indexOf(0x0a);
        if (newline === -1) return buffer;
        const header = buffer.subarray(0, newline).toString('utf8');
        buffer = buffer.subarray(newline + 1);
        const pending = this.queue[0];
        const parts = header.split(' ');
        if (parts.length === 3 && /^[0-9a-f]+$/.test(parts[0] ?? '')) {
          this.current = { oid: parts[0] as string, type: parts[1] as ObjectType, size: Number(parts[2]) };
          continue;
        }
        this.queue.shift();
        if (header.endsWith(' missing')) {
          pending?.resolve(undefined);
        } else if (header.endsWith(' ambiguous')) {
          pending?.reject(
            new GitOpsError(
              ErrorCodes.Ambiguous,
              `the object name ${JSON.stringify(pending.request)} is ambiguous`,
              {
                details: { object: pending.request },
              },
            ),
          );
        } else {
          pending?.reject(
            new GitOpsError(ErrorCodes.GitError, `git cat-file answered an unexpected line: ${header}`, {
              details: { command: 'git cat-file' },
            }),
          );
        }
        continue;
      }
      const { oid, type, size } = this.current;
      // The content is followed by one newline.
      if (buffer.length < size + 1) return buffer;
      const content = Buffer.from(buffer.subarray(0, size));
      buffer = buffer.subarray(size + 1);
      this.current = undefined;
      this.queue.shift()?.resolve({ oid, type, content });
    }
  }
}
