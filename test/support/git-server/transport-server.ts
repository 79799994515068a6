/**
 * What every served transport offers a test: its URLs, the environment git needs, and stop and
 * restart on the same port so a test can take the remote away and bring it back.
 */
import { freePort } from '../cache.js';
import { isGitOpsError } from '../../../src/runtime/errors.js';
import type { GitRemote, Transport } from './repo.js';

export interface TransportServer {
  readonly transport: Transport;
  /** The loopback port; the same after restart(). */
  readonly port: number;
  readonly running: boolean;
  /** URL of the served repository `name` (as given to createRepo, without `.git`). */
  urlOf(name: string): string;
  /** URL and environment of the served repository `name`. */
  remoteOf(name: string): GitRemote;
  /** Stops serving; clones and pushes fail until restart(). */
  stop(): Promise<void>;
  /** Serves again on the same port. */
  restart(): Promise<void>;
}

/**
 * Starts a server on a free port, trying another port if the first was taken in the moment
 * between choosing and binding it (the race every free-port helper has).
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      last = err;
      const text = isGitOpsError(err) ? err.message : String(err);
      if (!/address already in use|EADDRINUSE|cannot bind|unable to allocate/i.test(text)) throw err;
    }
  }
  throw last;
}
