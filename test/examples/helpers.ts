/**
 * Runs a sample application the way its documentation says (`node --import tsx
 * examples/<sample>/main.ts ...`), on a free port, and reads its JSON log lines; stops it with
 * SIGTERM (by its pid) and waits for it to exit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

import { parseJsonExact } from '../../src/runtime/index.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface RunningSample {
  readonly url: string;
  readonly logs: LogLine[];
  /** Everything the process wrote to stderr (warnings, crashes). */
  stderr(): string;
  /** The first log line (past or future) that matches; fails with the log when none comes. */
  waitForLog(match: (line: LogLine) => boolean, what: string, waitMs?: number): Promise<LogLine>;
  request(method: string, path: string): Promise<{ status: number; body: unknown }>;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Stops every sample a test left running. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}

export async function startSample(
  sample: 'sample-app' | 'sample-watch' | 'sample-gitops',
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningSample> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `examples/${sample}/main.ts`, '--port', '0', ...args],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const logs: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stderr = '';
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const raw of lines) {
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const waitForLog = (match: (line: LogLine) => boolean, what: string, waitMs = 30_000): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${sample} never logged ${what}; its log:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`,
          ),
        );
      }, waitMs);
      waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${sample} exited (${code}) before it logged ${what}:\n${stderr}`));
      });
    });
  };

  const listening = await waitForLog((l) => l.msg === 'listening', 'that it is listening', 60_000);
  const url = listening.url as string;
  return {
    url,
    logs,
    stderr: () => stderr,
    waitForLog,
    async request(method, path) {
      const response = await fetch(`${url}${path}`, { method });
      const text = await response.text();
      let body: unknown = text;
      try {
        // Exactly: integers beyond 2^53 come back as bigints.
        body = parseJsonExact(text);
      } catch {
        // Plain text answers stay text.
      }
      return { status: response.status, body };
    },
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      running.delete(child);
      return code;
    },
  };
}
