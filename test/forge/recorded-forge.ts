/**
 * What the GitHub and GitLab provider tests share: a replay server with one recording loaded for
 * the whole file, a check after each test that every request matched and every exchange was
 * used, and a failure() that also proves the recording's token shows nowhere in an error.
 */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

import { GitOpsError } from '../../src/runtime/index.js';
import type { Recording, ReplayServer } from './replay-server.js';
import { loadRecording, startReplayServer } from './replay-server.js';

export interface RecordedForge {
  /** Available from beforeAll on. */
  readonly server: ReplayServer;
  /** The recording's token (what the provider is given). */
  readonly token: string;
  /** Queues the recorded exchanges named `name`. */
  play(name: string): void;
  /** The GitOpsError `promise` rejects with; fails if the token shows in it, however deep. */
  failure(promise: Promise<unknown>): Promise<GitOpsError>;
}

/** A pull request request both recordings were made with. */
export const sampleRequest = {
  head: 'car-update-1a2b',
  base: 'main',
  title: 'Update Car speed',
  description: 'Set the speed of car-a to 120.',
};

/** Registers the file's hooks; call once at the top of a test file. */
export function useRecordedForge(file: string): RecordedForge {
  let server: ReplayServer | undefined;
  let recording: (Recording & { token: string }) | undefined;

  beforeAll(async () => {
    server = await startReplayServer();
    recording = (await loadRecording(file)) as Recording & { token: string };
  });
  afterAll(async () => {
    await server?.close();
  });
  afterEach(() => {
    const { mismatches, pending } = forge.server.reset();
    expect(mismatches, 'requests that did not match the recording').toEqual([]);
    expect(pending, 'recorded exchanges never requested').toEqual([]);
  });

  const forge: RecordedForge = {
    get server() {
      if (server === undefined) throw new Error('the replay server is only there from beforeAll on');
      return server;
    },
    get token() {
      if (recording === undefined) throw new Error('the recording is only loaded from beforeAll on');
      return recording.token;
    },
    play(name) {
      const exchanges = recording?.exchanges[name];
      if (exchanges === undefined) throw new Error(`no recorded exchanges named ${name} in ${file}`);
      forge.server.play(exchanges);
    },
    async failure(promise) {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GitOpsError);
      const error = err as GitOpsError;
      expect(error.message).not.toContain(forge.token);
      expect(inspect(error, { depth: Infinity })).not.toContain(forge.token);
      expect(JSON.stringify(error.toJSON())).not.toContain(forge.token);
      return error;
    },
  };
  return forge;
}
