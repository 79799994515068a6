import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../../src/runtime/errors.js';
import { waitFor } from './cache.js';
import { sweepStale } from './git-server/cleanup.js';
import {
  allTransports,
  createBareRepo,
  deleteBranch,
  forcePush,
  headOf,
  isolatedGitEnv,
  pushCommit,
  runGit,
  startGitServer,
  tryGit,
} from './git-server/index.js';
import type { GitFailure, GitRemote, GitServer } from './git-server/index.js';
import { CORPUS } from './corpus.js';

let server: GitServer;
let scratch: string;
let clones = 0;

beforeAll(async () => {
  server = await startGitServer({
    transports: ['git', 'http', 'ssh'],
    files: { 'apps/demo.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n' },
  });
  scratch = await mkdtemp(join(tmpdir(), 'git-server-test-'));
});

afterAll(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function newDir(): string {
  return join(scratch, `clone-${++clones}`);
}

/** Clones `remote` into a new folder; returns the folder, or git's failure. */
async function clone(remote: GitRemote, env: Record<string, string> = remote.env) {
  const dir = newDir();
  const result = await tryGit(['clone', '--quiet', '--', remote.url, dir], {
    cwd: scratch,
    env: isolatedGitEnv(env),
    timeoutMs: 60_000,
  });
  return { dir, result };
}

async function cloneOk(remote: GitRemote): Promise<string> {
  const { dir, result } = await clone(remote);
  if ('exitCode' in result) throw new Error(`clone of ${remote.url} failed: ${result.stderr}`);
  return dir;
}

function failure(result: { stdout: string } | GitFailure): GitFailure {
  if (!('exitCode' in result)) throw new Error('expected git to fail, but it succeeded');
  return result;
}

async function logOf(dir: string): Promise<string[]> {
  return (await runGit(['log', '--format=%H', 'HEAD'], { cwd: dir })).trim().split('\n');
}

describe('clone and push over each transport', () => {
  for (const transport of allTransports) {
    it(`clones and pushes over ${transport}`, async () => {
      const remote = server.repo.over(transport);
      expect(remote.url).toMatch(new RegExp(`^${transport}://`));
      expect(remote.url).toContain('127.0.0.1');
      const dir = await cloneOk(remote);
      expect(await readFile(join(dir, 'apps/demo.yaml'), 'utf8')).toContain('name: demo');

      const sha = await pushCommit(remote, {
        files: { [`by-${transport}.txt`]: `pushed over ${transport}\n` },
        message: `Push over ${transport}`,
        author: { name: 'Other Person', email: 'other@example.com' },
      });
      expect(await headOf(remote)).toBe(sha);
      expect(await headOf(server.repo)).toBe(sha);

      const fresh = await cloneOk(remote);
      expect(await readFile(join(fresh, `by-${transport}.txt`), 'utf8')).toBe(`pushed over ${transport}\n`);
      const author = await runGit(['log', '-1', '--format=%an <%ae>|%s'], { cwd: fresh });
      expect(author.trim()).toBe(`Other Person <other@example.com>|Push over ${transport}`);
    });
  }

  it('pushes from a clone of its own with plain git over ssh, using the ready GIT_SSH_COMMAND', async () => {
    const dir = await cloneOk(server.repo.over('ssh'));
    const env = isolatedGitEnv({ GIT_SSH_COMMAND: server.ssh.sshCommand });
    await writeFile(join(dir, 'plain.txt'), 'plain\n');
    await runGit(['add', 'plain.txt'], { cwd: dir, env });
    await runGit(['commit', '-q', '-m', 'plain'], { cwd: dir, env });
    await runGit(['push', '-q', 'origin', 'HEAD:refs/heads/plain'], { cwd: dir, env });
    const local = (await runGit(['rev-parse', 'HEAD'], { cwd: dir })).trim();
    expect(await headOf(server.repo, 'plain')).toBe(local);
  });
});

describe('ssh', () => {
  it('exposes the sample-gitops setup: identity file, known_hosts with [127.0.0.1]:PORT', async () => {
    const ssh = server.ssh;
    expect(server.repo.urls.ssh).toBe(`ssh://${ssh.user}@127.0.0.1:${ssh.port}${server.repo.path}`);
    expect(server.repo.over('ssh').url).toBe(server.repo.urls.ssh);
    expect(await readFile(ssh.knownHostsFile, 'utf8')).toBe(`[127.0.0.1]:${ssh.port} ${ssh.hostPublicKey}\n`);
    expect(ssh.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
    expect(await readFile(ssh.identityFile, 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(ssh.sshCommand).toContain(`-i '${ssh.identityFile}'`);
    expect(ssh.sshCommand).toContain(`UserKnownHostsFile=${ssh.knownHostsFile}`);
    expect(ssh.sshCommand).toContain('StrictHostKeyChecking=yes');
    expect(ssh.sshCommand).toContain('IdentitiesOnly=yes');
    expect(ssh.sshCommand).toContain('BatchMode=yes');
  });

  it('refuses a key that is not authorized, with a clear error', async () => {
    const intruder = await server.ssh.createKey('intruder');
    const { result } = await clone(server.repo.over('ssh'), {
      GIT_SSH_COMMAND: server.ssh.sshCommandWith({ identityFile: intruder.identityFile }),
    });
    const failed = failure(result);
    expect(failed.stderr).toContain('Permission denied (publickey)');
    expect(failed.stderr).toContain('Could not read from remote repository');
  });

  it('lets a key in once it is authorized', async () => {
    const colleague = await server.ssh.createKey('colleague');
    await server.ssh.authorize(colleague.publicKey);
    const { result } = await clone(server.repo.over('ssh'), {
      GIT_SSH_COMMAND: server.ssh.sshCommandWith({ identityFile: colleague.identityFile }),
    });
    expect(result).toHaveProperty('stdout');
  });

  it('refuses a server whose host key is not in known_hosts (empty file)', async () => {
    const empty = join(scratch, 'known_hosts_empty');
    await writeFile(empty, '');
    const { result } = await clone(server.repo.over('ssh'), {
      GIT_SSH_COMMAND: server.ssh.sshCommandWith({ knownHostsFile: empty }),
    });
    const failed = failure(result);
    expect(failed.stderr).toContain('No ED25519 host key is known for [127.0.0.1]:');
    expect(failed.stderr).toContain('Host key verification failed');
  });

  it('refuses a server whose host key differs from the one in known_hosts', async () => {
    const other = await server.ssh.createKey('other-host');
    const otherKey = other.publicKey.split(' ').slice(0, 2).join(' ');
    expect(otherKey).not.toBe(server.ssh.hostPublicKey);
    const changed = join(scratch, 'known_hosts_changed');
    await writeFile(changed, `[127.0.0.1]:${server.ssh.port} ${otherKey}\n`);
    const { result } = await clone(server.repo.over('ssh'), {
      GIT_SSH_COMMAND: server.ssh.sshCommandWith({ knownHostsFile: changed }),
    });
    const failed = failure(result);
    expect(failed.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(failed.stderr).toContain('Host key verification failed');
  });
});

describe('http', () => {
  const basic = (user: string, password: string): string =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const infoRefs = (): string => `${server.repo.over('http').url}/info/refs?service=git-upload-pack`;

  it('asks for basic auth, refuses a wrong password with 401, and accepts the password or the token', async () => {
    const http = server.http;
    const anonymous = await fetch(infoRefs());
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const wrong = await fetch(infoRefs(), {
      headers: { authorization: basic(http.username, 'not-the-password') },
    });
    expect(wrong.status).toBe(401);
    const wrongUser = await fetch(infoRefs(), {
      headers: { authorization: basic('someone-else', http.password) },
    });
    expect(wrongUser.status).toBe(401);

    const right = await fetch(infoRefs(), {
      headers: { authorization: basic(http.username, http.password) },
    });
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
    expect(await right.text()).toContain('# service=git-upload-pack');

    const token = await fetch(infoRefs(), {
      headers: { authorization: basic('x-access-token', http.token) },
    });
    expect(token.status).toBe(200);
    await token.arrayBuffer();
  });

  it('makes git fail with "Authentication failed" on a wrong password', async () => {
    const before = server.http.requests.length;
    const env = await server.http.credentialEnv({
      username: server.http.username,
      password: 'wrong-password',
    });
    const { result } = await clone(server.repo.over('http'), env);
    expect(failure(result).stderr).toContain('Authentication failed');
    expect(server.http.requests.slice(before).map((r) => r.status)).toContain(401);
  });

  it('clones with the token as the password under any user name', async () => {
    const env = await server.http.credentialEnv({ username: 'oauth2', password: server.http.token });
    const { result } = await clone(server.repo.over('http'), env);
    expect(result).toHaveProperty('stdout');
  });

  it('streams a large chunked push and serves it back', async () => {
    const before = server.http.requests.length;
    const big = randomBytes(3 * 1024 * 1024);
    const sha = await pushCommit(server.repo.over('http'), { files: { 'big.bin': big }, branch: 'big' });
    const pushes = server.http.requests.slice(before).filter((r) => r.path.endsWith('/git-receive-pack'));
    // Bigger than git's 1 MiB http.postBuffer, so git sent it chunked, without a length.
    expect(pushes.some((r) => r.chunked && r.status === 200 && r.bodyBytes > big.length)).toBe(true);
    expect(await headOf(server.repo, 'big')).toBe(sha);
    const fresh = await cloneOk({ ...server.repo.over('http') });
    await runGit(['checkout', '-q', 'big'], { cwd: fresh });
    expect((await readFile(join(fresh, 'big.bin'))).equals(big)).toBe(true);
  });

  it('accepts gzip request bodies (git compresses a large fetch request)', async () => {
    const repo = await server.createRepo('many-branches', { files: { 'a.txt': 'a\n' } });
    const work = await cloneOk(repo.file);
    // Many branches on distinct commits make the clone's list of wants larger than 1 KiB.
    const refspecs: string[] = [];
    for (let i = 0; i < 40; i++) {
      await runGit(['commit', '-q', '--allow-empty', '-m', `c${i}`], { cwd: work });
      const sha = (await runGit(['rev-parse', 'HEAD'], { cwd: work })).trim();
      refspecs.push(`${sha}:refs/heads/branch-${String(i).padStart(2, '0')}`);
    }
    await runGit(['push', '-q', 'origin', ...refspecs], { cwd: work });

    const before = server.http.requests.length;
    const dir = await cloneOk(repo.over('http'));
    const gzipped = server.http.requests
      .slice(before)
      .filter((r) => r.contentEncoding === 'gzip' && r.path.endsWith('/git-upload-pack'));
    expect(gzipped.length).toBeGreaterThan(0);
    expect(gzipped.every((r) => r.status === 200)).toBe(true);
    const branches = await runGit(['branch', '-r'], { cwd: dir });
    expect(branches.match(/origin\/branch-/g)).toHaveLength(40);
  });

  it('refuses a path that leaves the repositories folder', async () => {
    const http = server.http;
    // fetch() would normalise the path; a raw request sends it as written.
    const statusOf = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: http.port,
            path,
            headers: { authorization: basic(http.username, http.password) },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    // Encoded slashes survive URL parsing and would make `..` segments once decoded.
    expect(await statusOf('/repo.git/..%2F..%2F..%2Fetc/info/refs?service=git-upload-pack')).toBe(400);
    // Plain dots are resolved at the root, so they can only name a repository that is not there.
    expect(await statusOf('/repo.git/../../../etc/info/refs?service=git-upload-pack')).toBe(404);
  });
});

describe('stop and restart on the same port', () => {
  for (const transport of allTransports) {
    it(`${transport}: clone fails while stopped and works again after restart`, async () => {
      const endpoint = server[transport];
      const port = endpoint.port;
      const remote = server.repo.over(transport);
      await endpoint.stop();
      try {
        expect(endpoint.running).toBe(false);
        const { result } = await clone(remote);
        expect(failure(result).stderr).toMatch(
          /Connection refused|Couldn't connect|Failed to connect|unable to connect/i,
        );
      } finally {
        await endpoint.restart();
      }
      expect(endpoint.running).toBe(true);
      expect(endpoint.port).toBe(port);
      expect(server.repo.over(transport).url).toBe(remote.url);
      const dir = await cloneOk(remote);
      expect(existsSync(join(dir, 'apps/demo.yaml'))).toBe(true);
    });
  }

  it('stops and restarts every server at once', async () => {
    await server.stop();
    for (const transport of allTransports) expect(server[transport].running).toBe(false);
    await server.restart();
    for (const transport of allTransports) {
      expect(await headOf(server.repo.over(transport))).toBe(await headOf(server.repo));
    }
  });
});

describe('history rewrites by another person', () => {
  it('force-push drops the old tip for a fresh clone', async () => {
    const remote = server.repo.over('git');
    const oldTip = await pushCommit(remote, { files: { 'doomed.txt': 'soon gone\n' }, branch: 'rewrite' });
    const base = await pushCommit(remote, { files: { 'kept.txt': 'kept\n' }, branch: 'rewrite' });
    const dropped = await pushCommit(remote, { files: { 'dropped.txt': 'x\n' }, branch: 'rewrite' });
    expect(await headOf(remote, 'rewrite')).toBe(dropped);

    const rewritten = await forcePush(remote, { files: { 'rewritten.txt': 'new\n' }, branch: 'rewrite' });
    expect(await headOf(server.repo, 'rewrite')).toBe(rewritten);
    const dir = await cloneOk(remote);
    await runGit(['checkout', '-q', 'rewrite'], { cwd: dir });
    const history = await logOf(dir);
    expect(history[0]).toBe(rewritten);
    expect(history[1]).toBe(base);
    expect(history).toContain(oldTip);
    expect(history).not.toContain(dropped);
    expect(existsSync(join(dir, 'dropped.txt'))).toBe(false);
    expect(existsSync(join(dir, 'rewritten.txt'))).toBe(true);

    const orphan = await forcePush(server.repo.over('ssh'), {
      onto: null,
      files: { 'only.txt': 'only\n' },
      branch: 'rewrite',
    });
    const again = await cloneOk(remote);
    await runGit(['checkout', '-q', 'rewrite'], { cwd: again });
    expect(await logOf(again)).toEqual([orphan]);
    expect(readdirSync(again).filter((n) => n !== '.git')).toEqual(['only.txt']);
  });

  it('delete-branch removes it for a fresh clone, and pushCommit brings it back', async () => {
    const remote = server.repo.over('http');
    const sha = await pushCommit(remote, { files: { 'temp.txt': 't\n' }, branch: 'short-lived' });
    expect(await headOf(remote, 'short-lived')).toBe(sha);
    await deleteBranch(remote, 'short-lived');
    expect(await headOf(remote, 'short-lived')).toBeUndefined();
    const dir = await cloneOk(server.repo.over('git'));
    expect(await runGit(['branch', '-r'], { cwd: dir })).not.toContain('short-lived');

    // A new branch starts from the remote's default branch unless told otherwise.
    const back = await pushCommit(remote, { files: { 'temp.txt': 'again\n' }, branch: 'short-lived' });
    const parent = (await runGit(['rev-parse', `${back}^`], { cwd: server.repo.path })).trim();
    expect(parent).toBe(await headOf(server.repo, 'main'));
  });

  it('deletes files in a push', async () => {
    const remote = server.repo.over('ssh');
    await pushCommit(remote, { files: { 'gone/a.txt': 'a\n', 'gone/b.txt': 'b\n' }, branch: 'deletions' });
    await pushCommit(remote, { delete: ['gone'], files: { 'stay.txt': 's\n' }, branch: 'deletions' });
    const dir = await cloneOk(remote);
    await runGit(['checkout', '-q', 'deletions'], { cwd: dir });
    expect(existsSync(join(dir, 'gone'))).toBe(false);
    expect(existsSync(join(dir, 'stay.txt'))).toBe(true);
  });
});

describe('repositories and input checks', () => {
  it('creates a bare repository from a folder of real manifests on the chosen branch', async () => {
    const corpus = join(CORPUS, 'k8s-examples/web');
    const repo = await createBareRepo({
      fromDir: corpus,
      branch: 'trunk',
      files: { 'extra.yaml': 'x: 1\n' },
    });
    expect(await headOf(repo, 'trunk')).toBe(repo.head);
    expect(await headOf(repo, 'main')).toBeUndefined();
    const listed = (await runGit(['ls-tree', '-r', '--name-only', repo.head], { cwd: repo.path }))
      .trim()
      .split('\n');
    const expected = walk(corpus).map((file) => relative(corpus, file));
    expect(listed.sort()).toEqual([...expected, 'extra.yaml'].sort());
    expect((await runGit(['symbolic-ref', 'HEAD'], { cwd: repo.path })).trim()).toBe('refs/heads/trunk');
  });

  it('serves a second repository over every transport', async () => {
    const repo = await server.createRepo('team/app', { files: { 'app.yaml': 'kind: App\n' } });
    for (const transport of allTransports) {
      expect(await headOf(repo.over(transport))).toBe(repo.head);
      expect(server.remote(transport, repo).url).toBe(repo.urls[transport]);
    }
    expect(repo.urls.git).toBe(`git://127.0.0.1:${server.git.port}/team/app.git`);
  });

  it('refuses file paths outside the repository and branch names git would read as options', async () => {
    await expect(pushCommit(server.repo, { files: { '../escape.txt': 'x' } })).rejects.toMatchObject({
      code: ErrorCodes.PathEscape,
    });
    await expect(pushCommit(server.repo, { files: { '.git/config': 'x' } })).rejects.toMatchObject({
      code: ErrorCodes.PathEscape,
    });
    await expect(headOf(server.repo, '--upload-pack=touch /tmp/pwned')).rejects.toMatchObject({
      code: ErrorCodes.InvalidName,
    });
    await expect(deleteBranch(server.repo, 'a..b')).rejects.toMatchObject({ code: ErrorCodes.InvalidName });
    await expect(server.createRepo('../outside')).rejects.toMatchObject({ code: ErrorCodes.InvalidName });
  });

  it('says which transport was not started', async () => {
    const only = await startGitServer({ transports: ['git'] });
    try {
      expect(() => only.http).toThrow(/http transport was not started/);
      expect(await headOf(only.repo.over('git'))).toBe(only.repo.head);
    } finally {
      await only.close();
    }
  });

  it('close() ends the server processes and removes the folder', async () => {
    const temporary = await startGitServer({ transports: ['git', 'ssh'] });
    const owner = JSON.parse(await readFile(join(temporary.root, 'owner.json'), 'utf8')) as {
      children: number[];
    };
    expect(owner.children).toHaveLength(2);
    for (const pid of owner.children) expect(() => process.kill(pid, 0)).not.toThrow();
    await temporary.close();
    await temporary.close();
    for (const pid of owner.children) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(temporary.root)).toBe(false);
  });
});

describe('cleanup when a test process does not call close()', () => {
  const helper = new URL('./git-server/index.ts', import.meta.url).pathname;

  /** Whether `pid` is a live process (a zombie nobody reaped yet counts as gone). */
  function live(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  }

  /** Starts servers in a separate Node process that prints its root and server pids. */
  async function startElsewhere(mode: 'exit' | 'hang') {
    const script = join(scratch, `owner-${mode}.mts`);
    await writeFile(
      script,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { startGitServer } from ${JSON.stringify(helper)};`,
        `const server = await startGitServer({ transports: ['git', 'http', 'ssh'] });`,
        `const owner = JSON.parse(readFileSync(server.root + '/owner.json', 'utf8'));`,
        `console.log(JSON.stringify({ root: server.root, children: owner.children }));`,
        `if (process.argv[2] === 'exit') process.exit(0);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, mode], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then(() => reject(new Error(`the helper process ended early: ${stderr}`)));
    });
    return { child, exited, started: JSON.parse(line) as { root: string; children: number[] } };
  }

  it('kills the servers and removes the folder when the process exits', async () => {
    const { exited, started } = await startElsewhere('exit');
    await exited;
    expect(started.children).toHaveLength(2);
    for (const pid of started.children) expect(live(pid)).toBe(false);
    expect(existsSync(started.root)).toBe(false);
  });

  it('kills the servers and removes the folder on SIGTERM, the way vitest stops its workers', async () => {
    const { child, exited, started } = await startElsewhere('hang');
    child.kill('SIGTERM');
    await exited;
    expect(child.signalCode).toBe('SIGTERM');
    for (const pid of started.children) expect(live(pid)).toBe(false);
    expect(existsSync(started.root)).toBe(false);
  });

  it('sweeps the servers and folder of a process that was killed outright', async () => {
    const { child, exited, started } = await startElsewhere('hang');
    child.kill('SIGKILL');
    await exited;
    // Nothing ran in the killed process, so its servers outlived it...
    for (const pid of started.children) expect(live(pid)).toBe(true);
    expect(existsSync(started.root)).toBe(true);
    // ...until the next helper start sweeps them.
    sweepStale();
    for (const pid of started.children) {
      await waitFor(`pid ${pid} to end`, async () => !live(pid), 5_000);
    }
    expect(existsSync(started.root)).toBe(false);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
