/**
 * Credentials for remotes, turned into what a git child process needs: environment variables
 * and private files, never process arguments and never anything written to .git/config.
 *
 * - SSH: the key and known_hosts are files in a private temporary folder (mode 0700, files
 *   0600); GIT_SSH_COMMAND points ssh at exactly those, with strict host key checking, so an
 *   unknown or changed host key fails the command instead of being accepted.
 * - HTTPS: a credential helper set through GIT_CONFIG_COUNT/KEY/VALUE (environment config,
 *   not argv) and scoped to the remote's origin, so a redirect to another host never receives
 *   the secret. The helper is a fixed shell snippet that prints two environment variables of
 *   the child; the secret itself is never part of a command line.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ErrorCodes, GitOpsError, invalidField, redactUrlSecrets } from '../runtime/index.js';
import type { ParsedRemoteUrl } from './validate.js';

export interface SshCredentials {
  type: 'ssh';
  /** The private key (OpenSSH or PEM format, without a passphrase). */
  privateKey?: string;
  privateKeyFile?: string;
  /** known_hosts lines for the remote; required, hosts not listed are refused. */
  knownHosts?: string;
  knownHostsFile?: string;
  /** Login name when the URL has none (e.g. `git`). */
  user?: string;
}

export type HttpsCredentials =
  { type: 'https'; username?: string; token: string } | { type: 'https'; username: string; password: string };

export type Credentials = SshCredentials | HttpsCredentials | { type: 'none' };

/** What a git process needs for one remote: environment, the secrets to scrub, and cleanup. */
export interface PreparedCredentials {
  env: Record<string, string>;
  /** Every string that must never appear in a message or log. */
  secrets: string[];
  dispose(): Promise<void>;
}

// GitHub's convention for a token-only login; other forges accept any user name with a token.
const DEFAULT_TOKEN_USER = 'x-access-token';

const HELPER_USER_ENV = 'LIBGITOPS_GIT_USERNAME';
const HELPER_SECRET_ENV = 'LIBGITOPS_GIT_PASSWORD';
// Answers git's `get` request only; `store` and `erase` are ignored. No caller text in here.
const CREDENTIAL_HELPER =
  `!f() { test "$1" = get || return 0; ` +
  `printf 'username=%s\\npassword=%s\\n' "$${HELPER_USER_ENV}" "$${HELPER_SECRET_ENV}"; }; f`;

const NONE: PreparedCredentials = { env: {}, secrets: [], dispose: async () => {} };

/** Quotes a value for the POSIX shell that git runs GIT_SSH_COMMAND with. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The secrets a credentials value carries, in every form git or a server might echo them. */
export function secretsOf(credentials: Credentials | undefined): string[] {
  if (credentials === undefined || credentials.type !== 'https') return [];
  const secret = 'token' in credentials ? credentials.token : credentials.password;
  const user = credentials.username ?? DEFAULT_TOKEN_USER;
  return [secret, encodeURIComponent(secret), Buffer.from(`${user}:${secret}`).toString('base64')].filter(
    (s) => s.length > 0,
  );
}

/**
 * Prepares credentials for talking to `remote`. The result's env goes into the child only;
 * call dispose() to delete the private files.
 */
export async function prepareCredentials(
  credentials: Credentials | undefined,
  remote: ParsedRemoteUrl | undefined,
): Promise<PreparedCredentials> {
  if (credentials === undefined || credentials.type === 'none') return NONE;
  if (credentials.type === 'https') return prepareHttps(credentials, remote);
  if (credentials.type === 'ssh') return prepareSsh(credentials, remote);
  throw invalidField(`unknown credentials type`, 'credentials.type');
}

function prepareHttps(
  credentials: HttpsCredentials,
  remote: ParsedRemoteUrl | undefined,
): PreparedCredentials {
  if (remote === undefined || remote.origin === undefined) {
    throw invalidField('HTTPS credentials need an http(s) remote URL', 'credentials');
  }
  const secret = 'token' in credentials ? credentials.token : credentials.password;
  const username = credentials.username ?? DEFAULT_TOKEN_USER;
  if (secret === '' || /[\0\n\r]/.test(secret)) {
    throw invalidField('the HTTPS token or password is empty or contains a line break', 'credentials');
  }
  if (username === '' || /[\0\n\r]/.test(username)) {
    throw invalidField('the HTTPS username is empty or contains a line break', 'credentials.username');
  }
  return {
    env: {
      GIT_CONFIG_COUNT: '2',
      // An empty helper first clears any helper from other configuration.
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '',
      GIT_CONFIG_KEY_1: `credential.${remote.origin}.helper`,
      GIT_CONFIG_VALUE_1: CREDENTIAL_HELPER,
      [HELPER_USER_ENV]: username,
      [HELPER_SECRET_ENV]: secret,
    },
    secrets: secretsOf(credentials),
    dispose: async () => {},
  };
}

async function prepareSsh(
  credentials: SshCredentials,
  remote: ParsedRemoteUrl | undefined,
): Promise<PreparedCredentials> {
  if (remote !== undefined && remote.kind !== 'ssh') {
    throw invalidField(`SSH credentials were given for a ${remote.kind} remote`, 'credentials');
  }
  if ((credentials.privateKey === undefined) === (credentials.privateKeyFile === undefined)) {
    throw invalidField('SSH credentials need exactly one of privateKey or privateKeyFile', 'credentials');
  }
  if ((credentials.knownHosts === undefined) === (credentials.knownHostsFile === undefined)) {
    throw invalidField(
      'SSH credentials need exactly one of knownHosts or knownHostsFile; unknown hosts are never trusted',
      'credentials',
    );
  }
  if (credentials.user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(credentials.user)) {
    throw invalidField(
      'the SSH user name may only contain letters, digits, ".", "_" and "-"',
      'credentials.user',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'libgitops-ssh-'));
  try {
    await chmod(dir, 0o700);
    let keyFile = credentials.privateKeyFile;
    if (credentials.privateKey !== undefined) {
      keyFile = join(dir, 'identity');
      // ssh refuses a key without a final newline in some formats.
      const key = credentials.privateKey.endsWith('\n')
        ? credentials.privateKey
        : `${credentials.privateKey}\n`;
      await writeFile(keyFile, key, { mode: 0o600 });
    }
    let knownHostsFile = credentials.knownHostsFile;
    if (credentials.knownHosts !== undefined) {
      knownHostsFile = join(dir, 'known_hosts');
      await writeFile(knownHostsFile, credentials.knownHosts, { mode: 0o600 });
    }
    const command = [
      'ssh',
      '-F',
      '/dev/null',
      '-i',
      shellQuote(keyFile as string),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      shellQuote(`UserKnownHostsFile=${knownHostsFile as string}`),
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'UpdateHostKeys=no',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=30',
    ];
    if (credentials.user !== undefined) command.push('-o', shellQuote(`User=${credentials.user}`));
    return {
      env: { GIT_SSH_COMMAND: command.join(' '), GIT_SSH_VARIANT: 'ssh' },
      secrets: credentials.privateKey === undefined ? [] : [credentials.privateKey.trim()],
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (cause) {
    await rm(dir, { recursive: true, force: true });
    throw new GitOpsError(ErrorCodes.IoError, 'could not write the SSH key and known_hosts files', { cause });
  }
}

/** Replaces every secret and any URL password in `text` with `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return redactUrlSecrets(out.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@\s:]*):[^/@\s]*@/g, '$1$2:***@'));
}
