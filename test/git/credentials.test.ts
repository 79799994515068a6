import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

import { describe, expect, it } from 'vitest';

import { prepareCredentials, scrubSecrets, secretsOf, shellQuote } from '../../src/git/credentials.js';
import { parseRemoteUrl } from '../../src/git/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n-----END OPENSSH PRIVATE KEY-----';
const ssh = parseRemoteUrl('ssh://git@example.test:2222/repo.git');
const https = parseRemoteUrl('https://forge.example.test:8443/o/r.git');

/** The words a POSIX shell makes of `command`, as the program it runs would receive them. */
function shellWords(command: string): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${command.replace(/^ssh /, '')}`], {
    encoding: 'utf8',
  });
  return out.split('\0').slice(0, -1);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitOpsError);
  return (error as GitOpsError).code;
}

describe('SSH credentials', () => {
  it('writes the key and known_hosts privately and points a strict ssh at them', async () => {
    const prepared = await prepareCredentials(
      { type: 'ssh', privateKey: KEY, knownHosts: '[example.test]:2222 ssh-ed25519 AAAA\n', user: 'git' },
      ssh,
    );
    try {
      const command = prepared.env.GIT_SSH_COMMAND as string;
      const words = shellWords(command);
      const keyFile = words[words.indexOf('-i') + 1] as string;
      expect(readFileSync(keyFile, 'utf8')).toBe(`${KEY}\n`);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(keyFile)).mode & 0o777).toBe(0o700);
      const knownHosts = words.find((w) => w.startsWith('UserKnownHostsFile='))?.split('=')[1] as string;
      expect(statSync(knownHosts).mode & 0o777).toBe(0o600);
      expect(words).toEqual(
        expect.arrayContaining([
          'StrictHostKeyChecking=yes',
          'BatchMode=yes',
          'IdentitiesOnly=yes',
          'GlobalKnownHostsFile=/dev/null',
          'User=git',
        ]),
      );
      expect(command).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE');
      await prepared.dispose();
      expect(existsSync(keyFile)).toBe(false);
    } finally {
      await prepared.dispose();
    }
  });

  it('quotes file paths so the shell passes them through unchanged', async () => {
    const odd = `/tmp/it's a "key" $(echo injected) ;.pem`;
    const prepared = await prepareCredentials(
      { type: 'ssh', privateKeyFile: odd, knownHostsFile: '/tmp/known hosts' },
      ssh,
    );
    const words = shellWords(prepared.env.GIT_SSH_COMMAND as string);
    expect(words[words.indexOf('-i') + 1]).toBe(odd);
    expect(words).toContain('UserKnownHostsFile=/tmp/known hosts');
    expect(shellQuote(`a'b`)).toBe(`'a'\\''b'`);
    await prepared.dispose();
  });

  it('refuses SSH credentials without known_hosts, without a key, or with a bad user', async () => {
    expect(await codeOf(prepareCredentials({ type: 'ssh', privateKey: KEY }, ssh))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(prepareCredentials({ type: 'ssh', knownHosts: 'x' }, ssh))).toBe(ErrorCodes.Invalid);
    expect(
      await codeOf(
        prepareCredentials({ type: 'ssh', privateKey: KEY, knownHosts: 'x', user: '-oProxyCommand=x' }, ssh),
      ),
    ).toBe(ErrorCodes.Invalid);
    expect(await codeOf(prepareCredentials({ type: 'ssh', privateKey: KEY, knownHosts: 'x' }, https))).toBe(
      ErrorCodes.Invalid,
    );
  });
});

describe('HTTPS credentials', () => {
  it('puts the secret only in a helper variable, with the helper scoped to the remote origin', async () => {
    const prepared = await prepareCredentials({ type: 'https', token: 'tok-123456' }, https);
    const env = prepared.env;
    expect(env.GIT_CONFIG_KEY_0).toBe('credential.helper');
    expect(env.GIT_CONFIG_VALUE_0).toBe('');
    expect(env.GIT_CONFIG_KEY_1).toBe('credential.https://forge.example.test:8443.helper');
    const holding = Object.entries(env).filter(([, value]) => value.includes('tok-123456'));
    expect(holding.map(([name]) => name)).toEqual(['LIBGITOPS_GIT_PASSWORD']);
    expect(env.LIBGITOPS_GIT_USERNAME).toBe('x-access-token');
  });

  it('answers git credential requests through the helper', async () => {
    const prepared = await prepareCredentials(
      { type: 'https', username: 'me', password: 'pw-987654' },
      https,
    );
    const out = execFileSync('git', ['credential', 'fill'], {
      input: 'protocol=https\nhost=forge.example.test:8443\n\n',
      env: {
        PATH: process.env.PATH,
        HOME: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        ...prepared.env,
      },
      encoding: 'utf8',
    });
    expect(out).toContain('username=me\n');
    expect(out).toContain('password=pw-987654\n');
    // Another host gets nothing from the helper (git then fails instead of prompting).
    expect(() =>
      execFileSync('git', ['credential', 'fill'], {
        input: 'protocol=https\nhost=elsewhere.example.test\n\n',
        env: {
          PATH: process.env.PATH,
          HOME: '/dev/null',
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_TERMINAL_PROMPT: '0',
          ...prepared.env,
        },
        stdio: ['pipe', 'pipe', 'ignore'],
      }),
    ).toThrow();
  });

  it('refuses secrets with line breaks and a missing http remote', async () => {
    expect(await codeOf(prepareCredentials({ type: 'https', token: 'a\nprotocol=x' }, https))).toBe(
      ErrorCodes.Invalid,
    );
    expect(await codeOf(prepareCredentials({ type: 'https', token: '' }, https))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(prepareCredentials({ type: 'https', token: 'abc' }, ssh))).toBe(ErrorCodes.Invalid);
  });
});

describe('scrubbing', () => {
  it('removes secrets in every form they may be echoed in', () => {
    const credentials = { type: 'https' as const, username: 'u', password: 'p@ss/w0rd' };
    const secrets = secretsOf(credentials);
    const basic = Buffer.from('u:p@ss/w0rd').toString('base64');
    const text = `bad p@ss/w0rd, ${encodeURIComponent('p@ss/w0rd')}, Basic ${basic}, https://u:other@host/x`;
    const scrubbed = scrubSecrets(text, secrets);
    expect(scrubbed).toBe('bad ***, ***, Basic ***, https://u:***@host/x');
  });
});
