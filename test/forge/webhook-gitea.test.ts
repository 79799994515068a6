/**
 * Webhooks from a real Gitea: hooks on a repository post to a receiver on 127.0.0.1 that reads
 * each delivery with readWebhookBody and checks it with verifyWebhook, as a server would.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookConfig, WebhookOutcome } from '../../src/forge/index.js';
import { readWebhookBody, verifyWebhook, webhookErrorStatus } from '../../src/forge/index.js';
import { waitFor } from '../support/cache.js';
import type { Forge, ForgeRepo } from '../support/forge/index.js';
import { startForge } from '../support/forge/index.js';

const run = promisify(execFile);
const SECRET = 'gitea-hook-secret-1';

const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Alice',
  GIT_AUTHOR_EMAIL: 'alice@forge.test',
  GIT_COMMITTER_NAME: 'Alice',
  GIT_COMMITTER_EMAIL: 'alice@forge.test',
};

interface Received {
  route: string;
  after: string | undefined;
  status: number;
  outcome?: WebhookOutcome;
  error?: unknown;
}

let forge: Forge;
let scratch: string;
let clone: string;
let token: string;
let repo: ForgeRepo;
let receiver: Server;
const received: Received[] = [];
const routes = new Map<string, WebhookConfig>();

async function git(args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd: clone,
    env: { ...gitEnv, ...forge.gitAuthEnv('alice', token) },
  });
  return stdout.trim();
}

function afterOf(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString('utf8')) as { after?: string }).after;
  } catch {
    return undefined;
  }
}

/** Waits until every route in `routes` has a delivery of push `sha`. */
async function deliveriesOf(sha: string, wanted: string[]): Promise<Map<string, Received>> {
  const of = () => new Map(received.filter((r) => r.after === sha).map((r) => [r.route, r]));
  await waitFor(
    `webhook deliveries of push ${sha} to ${wanted.join(', ')}`,
    async () => wanted.every((route) => of().has(route)),
    45_000,
  ).catch((err: unknown) => {
    const seen = received.map((r) => `${r.route} ${r.status} ${r.after ?? '?'}`).join('; ');
    throw new Error(`${(err as Error).message}; received so far: ${seen || 'nothing'}`);
  });
  return of();
}

beforeAll(async () => {
  forge = await startForge();
  scratch = await mkdtemp(join(tmpdir(), 'forge-webhook-'));
  await forge.createUser('alice', 'alice-password-1');
  token = await forge.createToken('alice', 'alice-password-1', 'push', ['write:repository']);
  repo = await forge.createRepo('alice', 'fleet', { autoInit: true, defaultBranch: 'main' });

  receiver = createServer((req, res) => {
    const route = (req.url ?? '').split('?')[0] ?? '';
    const config = routes.get(route);
    readWebhookBody(req, { maxBytes: config?.maxBytes, contentLength: req.headers['content-length'] })
      .then((body) => {
        const entry: Received = { route, after: afterOf(body), status: 500 };
        try {
          if (config === undefined) throw new Error(`no route ${route}`);
          entry.outcome = verifyWebhook({ headers: req.headers, rawBody: body }, config);
          entry.status = entry.outcome.status;
        } catch (err) {
          entry.error = err;
          entry.status = webhookErrorStatus(err);
        }
        received.push(entry);
        res.writeHead(entry.status).end();
      })
      .catch((err: unknown) => {
        received.push({ route, after: undefined, status: webhookErrorStatus(err), error: err });
        res.writeHead(webhookErrorStatus(err)).end();
      });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  routes.set('/hook', { secret: SECRET, repositories: [repo.cloneUrl] });
  routes.set('/rotated', { secret: ['new-secret', SECRET], repositories: ['alice/fleet'] });
  routes.set('/wrong-secret', { secret: 'not-the-secret', repositories: [repo.cloneUrl] });
  routes.set('/other-repo', { secret: SECRET, repositories: ['alice/other'] });
  routes.set('/gitlab-only', { provider: 'gitlab', secret: SECRET, repositories: [repo.cloneUrl] });
  routes.set('/tiny', { secret: SECRET, repositories: [repo.cloneUrl], maxBytes: 256 });
  for (const route of routes.keys()) {
    await forge.createWebhook('alice', 'fleet', { url: `${base}${route}`, secret: SECRET, events: ['push'] });
  }

  clone = join(scratch, 'fleet');
  await run('git', ['clone', '-q', repo.cloneUrl, clone], {
    env: { ...gitEnv, ...forge.gitAuthEnv('alice', token) },
  });
}, 40 * 60_000);

afterAll(async () => {
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
  await forge?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('push webhooks from a real Gitea', { timeout: 120_000 }, () => {
  it('verifies and reads a push to main, and refuses or ignores it where it must', async () => {
    const before = await git(['rev-parse', 'HEAD']);
    await mkdir(join(clone, 'cars'), { recursive: true });
    await writeFile(join(clone, 'cars', 'car-a.yaml'), 'kind: Car\nmetadata:\n  name: car-a\n');
    await writeFile(join(clone, 'README.md'), '# fleet\n\nCars.\n');
    await git(['add', '--', 'cars/car-a.yaml', 'README.md']);
    await git(['commit', '-q', '-m', 'Add car-a']);
    const after = await git(['rev-parse', 'HEAD']);
    await git(['push', '-q', 'origin', 'main']);

    const byRoute = await deliveriesOf(after, [
      '/hook',
      '/rotated',
      '/wrong-secret',
      '/other-repo',
      '/gitlab-only',
    ]);

    const good = byRoute.get('/hook');
    expect(good?.error).toBeUndefined();
    expect(good?.outcome).toMatchObject({ accepted: true, status: 200, provider: 'gitea', event: 'push' });
    expect(good?.outcome?.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(good?.outcome?.push).toMatchObject({
      provider: 'gitea',
      ref: 'refs/heads/main',
      branch: 'main',
      before,
      after,
      created: false,
      deleted: false,
      changedPaths: ['README.md', 'cars/car-a.yaml'],
    });
    expect(good?.outcome?.push?.repository.fullName).toBe('alice/fleet');
    expect(good?.outcome?.push?.repository.keys).toContain('127.0.0.1/alice/fleet');

    expect(byRoute.get('/rotated')?.status).toBe(200);
    expect(byRoute.get('/wrong-secret')?.status).toBe(401);
    expect(byRoute.get('/other-repo')?.status).toBe(202);
    expect(byRoute.get('/gitlab-only')?.status).toBe(400);
    // The oversized body is refused before it is read whole, so only its route tells it apart.
    await waitFor('the delivery to /tiny', async () => received.some((r) => r.route === '/tiny'), 45_000);
    expect(received.find((r) => r.route === '/tiny')).toMatchObject({ status: 413, after: undefined });
  });

  it('reads a new branch as created, without changed paths', async () => {
    await git(['switch', '-q', '-c', 'car-update-1a2b']);
    await writeFile(
      join(clone, 'cars', 'car-a.yaml'),
      'kind: Car\nmetadata:\n  name: car-a\nspec:\n  speed: 120\n',
    );
    await git(['commit', '-q', '-am', 'Speed up car-a']);
    const after = await git(['rev-parse', 'HEAD']);
    await git(['push', '-q', 'origin', 'car-update-1a2b']);

    const good = (await deliveriesOf(after, ['/hook'])).get('/hook');
    expect(good?.outcome?.push).toMatchObject({ branch: 'car-update-1a2b', after, created: true });
    expect(good?.outcome?.push?.before).toMatch(/^0+$/);
    expect(good?.outcome?.push?.changedPaths).toBeUndefined();
  });
});
