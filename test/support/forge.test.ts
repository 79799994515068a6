import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, GitOpsError } from '../../src/runtime/errors.js';
import { waitFor } from './cache.js';
import type { Forge } from './forge/index.js';
import { startForge } from './forge/index.js';

const run = promisify(execFile);

/** git with no user or system config, so the machine's settings cannot change the outcome. */
const gitBaseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Alice',
  GIT_AUTHOR_EMAIL: 'alice@forge.test',
  GIT_COMMITTER_NAME: 'Alice',
  GIT_COMMITTER_EMAIL: 'alice@forge.test',
};

async function git(cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: { ...gitBaseEnv, ...extraEnv } });
  return stdout.trim();
}

async function commitFile(repoDir: string, file: string, content: string, message: string): Promise<string> {
  await writeFile(join(repoDir, file), content);
  await git(repoDir, ['add', '--', file]);
  await git(repoDir, ['commit', '-q', '-m', message]);
  return git(repoDir, ['rev-parse', 'HEAD']);
}

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('test forge (real Gitea)', () => {
  let forge: Forge;
  let scratch: string;
  const alice = { name: 'alice', password: 'alice-password-1' };
  let aliceToken = '';
  let clone = '';
  let featureSha = '';

  // The first run on a machine builds Gitea from source, which can take longer than the hook timeout.
  beforeAll(async () => {
    forge = await startForge();
    scratch = await mkdtemp(join(tmpdir(), 'forge-test-'));
  }, 40 * 60_000);

  afterAll(async () => {
    await forge?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1, passes its health check and runs the pinned version', async () => {
    expect(forge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = (await (await fetch(`${forge.url}/api/healthz`)).json()) as { status: string };
    expect(health.status).toBe('pass');
    const { version } = await forge.api.request<{ version: string }>('GET', '/version');
    expect(`v${version}`).toBe(forge.version);
  });

  it('has registration turned off: sign-up is refused and creates no user', async () => {
    const form = new URLSearchParams({
      user_name: 'mallory',
      email: 'mallory@forge.test',
      password: 'mallory-password-1',
      retype: 'mallory-password-1',
    });
    const response = await fetch(`${forge.url}/user/sign_up`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    expect([403, 404]).toContain(response.status);
    await expect(forge.api.request('GET', '/users/mallory')).rejects.toMatchObject({
      code: ErrorCodes.NotFound,
    });
  });

  it('creates a user, a token scoped to it, and a repository on main with a clean clone URL', async () => {
    const user = await forge.createUser(alice.name, alice.password);
    expect(user).toMatchObject({ username: 'alice', isAdmin: false, email: 'alice@forge.test' });

    aliceToken = await forge.createToken(alice.name, alice.password, 'ci', ['write:repository', 'read:user']);
    expect(aliceToken).toMatch(/^[0-9a-f]{40}$/);
    const me = await forge.api.request<{ login: string }>('GET', '/user', undefined, { token: aliceToken });
    expect(me.login).toBe('alice');

    const repo = await forge.createRepo('alice', 'fleet', { autoInit: true, defaultBranch: 'main' });
    expect(repo).toMatchObject({
      owner: 'alice',
      name: 'fleet',
      fullName: 'alice/fleet',
      defaultBranch: 'main',
    });
    expect(repo.empty).toBe(false);
    expect(repo.cloneUrl).toBe(`${forge.url}/alice/fleet.git`);
    expect(repo.cloneUrl).not.toContain('@');
  });

  it('clones over HTTP with the token from the environment, never storing it in .git/config', async () => {
    clone = join(scratch, 'fleet');
    await git(
      scratch,
      ['clone', '-q', `${forge.url}/alice/fleet.git`, clone],
      forge.gitAuthEnv('alice', aliceToken),
    );
    expect(await git(clone, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
    expect(await readFile(join(clone, 'README.md'), 'utf8')).toContain('fleet');

    const config = await readFile(join(clone, '.git', 'config'), 'utf8');
    expect(config).toContain(`url = ${forge.url}/alice/fleet.git`);
    expect(config).not.toContain(aliceToken);
    expect(config.toLowerCase()).not.toContain('authorization');
  });

  it('refuses a push without credentials and accepts it with the token', async () => {
    await git(clone, ['switch', '-q', '-c', 'feature']);
    featureSha = await commitFile(clone, 'app.yaml', 'kind: ConfigMap\n', 'Add app');

    await expect(git(clone, ['push', '-q', 'origin', 'feature'])).rejects.toThrow(
      /Authentication failed|could not read Username/i,
    );

    await git(clone, ['push', '-q', 'origin', 'feature'], forge.gitAuthEnv('alice', aliceToken));
    const remote = await git(
      clone,
      ['ls-remote', 'origin', 'refs/heads/feature'],
      forge.gitAuthEnv('alice', aliceToken),
    );
    expect(remote.split('\t')[0]).toBe(featureSha);
  });

  it('opens a pull request through the API and reads it back', async () => {
    const opened = await forge.createPullRequest(
      'alice',
      'fleet',
      { title: 'Add app', head: 'feature', base: 'main', body: 'Adds the app config.' },
      { token: aliceToken },
    );
    expect(opened.number).toBe(1);

    const pull = await forge.getPullRequest('alice', 'fleet', opened.number);
    expect(pull).toMatchObject({
      number: 1,
      title: 'Add app',
      body: 'Adds the app config.',
      state: 'open',
      merged: false,
      author: 'alice',
    });
    expect(pull.head).toMatchObject({ ref: 'feature', sha: featureSha, repo: 'alice/fleet' });
    expect(pull.base.ref).toBe('main');
    expect(pull.base.sha).toBe(await git(clone, ['rev-parse', 'main']));

    const listed = await forge.listPullRequests('alice', 'fleet', 'open');
    expect(listed.map((p) => [p.number, p.title, p.state])).toEqual([[1, 'Add app', 'open']]);
    expect(await forge.listPullRequests('alice', 'fleet', 'closed')).toEqual([]);
  });

  it('makes site admins only when asked', async () => {
    const carol = await forge.createUser('carol', 'carol-password-1', { admin: true });
    expect(carol.isAdmin).toBe(true);
    const asCarol = await forge.api.request<{ is_admin: boolean }>('GET', '/user', undefined, {
      username: 'carol',
      password: 'carol-password-1',
    });
    expect(asCarol.is_admin).toBe(true);
    await expect(
      forge.api.request('GET', '/admin/users', undefined, { token: aliceToken }),
    ).rejects.toMatchObject({
      code: ErrorCodes.Forbidden,
    });
  });

  it('delivers signed push webhooks to a receiver on 127.0.0.1', async () => {
    const deliveries: Delivery[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const secret = 'webhook-secret-1';
      const hook = await forge.createWebhook('alice', 'fleet', {
        url: `http://127.0.0.1:${port}/hook`,
        secret,
        events: ['push'],
      });
      expect(hook).toMatchObject({ active: true, events: ['push'] });

      const sha = await commitFile(clone, 'app.yaml', 'kind: ConfigMap\nmetadata: {name: app}\n', 'Name app');
      await git(clone, ['push', '-q', 'origin', 'feature'], forge.gitAuthEnv('alice', aliceToken));
      // Gitea handles pushes on a queue, so an earlier push may be delivered too: wait for ours.
      const afterOf = (d: Delivery) => {
        try {
          return (JSON.parse(d.body) as { after?: string }).after;
        } catch {
          return undefined;
        }
      };
      await waitFor(
        `the webhook delivery of push ${sha}`,
        async () => deliveries.some((d) => afterOf(d) === sha),
        30_000,
      );

      const delivery = deliveries.find((d) => afterOf(d) === sha);
      expect(delivery?.headers['x-gitea-event']).toBe('push');
      const expected = createHmac('sha256', secret)
        .update(delivery?.body ?? '')
        .digest('hex');
      expect(delivery?.headers['x-gitea-signature']).toBe(expected);
      const payload = JSON.parse(delivery?.body ?? '{}') as {
        ref: string;
        before: string;
        repository: { full_name: string };
      };
      expect(payload).toMatchObject({ ref: 'refs/heads/feature', before: featureSha });
      expect(payload.repository.full_name).toBe('alice/fleet');
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('reports API failures as GitOpsErrors with a status and no credentials', async () => {
    const missing = await forge.createRepo('nobody', 'x').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(GitOpsError);
    expect(missing).toMatchObject({ code: ErrorCodes.NotFound, details: { status: 404 } });
    expect(String((missing as Error).message)).not.toContain(forge.admin.password);

    const denied = forge.api.request('GET', '/user', undefined, { token: '0'.repeat(40) });
    await expect(denied).rejects.toMatchObject({ code: ErrorCodes.Unauthorized });
  });

  it('starts a second instance independently and stop() ends it and removes its files', async () => {
    const started = Date.now();
    const other = await startForge();
    const warmStartMs = Date.now() - started;
    process.stderr.write(`[forge] warm start of a second instance: ${warmStartMs} ms\n`);
    expect(other.url).not.toBe(forge.url);
    await expect(other.api.request('GET', '/users/alice')).rejects.toMatchObject({
      code: ErrorCodes.NotFound,
    });

    await other.stop();
    await expect(fetch(`${other.url}/api/healthz`)).rejects.toThrow();
    await expect(stat(other.workDir)).rejects.toMatchObject({ code: 'ENOENT' });
    // The first instance is untouched.
    expect((await fetch(`${forge.url}/api/healthz`)).status).toBe(200);
  }, 120_000);
});
