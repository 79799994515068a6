/**
 * SSH: Debian's sshd on a loopback port with its own config, host key, authorized_keys and a
 * known_hosts file for the client, the setup of the Go libgitops sample-gitops (identity file
 * plus known_hosts). Git runs as the current user, with the repository's absolute path.
 */
import { appendFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { ensureSshd, generateKey } from './openssh.js';
import type { GitRemote } from './repo.js';
import { ServerProcess } from './server-process.js';
import { onFreePort } from './transport-server.js';
import type { TransportServer } from './transport-server.js';

export interface SshKey {
  identityFile: string;
  /** `ssh-ed25519 AAAA... comment` */
  publicKey: string;
}

export interface SshClientFiles {
  identityFile?: string;
  knownHostsFile?: string;
}

export interface SshGitServer extends TransportServer {
  readonly transport: 'ssh';
  /** The login name in the URLs: the user the tests run as. */
  readonly user: string;
  /** The authorized client's private key (no passphrase). */
  readonly identityFile: string;
  /** A known_hosts file holding exactly `knownHostsLine`. */
  readonly knownHostsFile: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA...` */
  readonly knownHostsLine: string;
  /** `ssh-ed25519 AAAA...` (no comment). */
  readonly hostPublicKey: string;
  /** A ready GIT_SSH_COMMAND: this identity, this known_hosts only, strict host key checking, no prompts. */
  readonly sshCommand: string;
  /** The same command with another identity or known_hosts file, e.g. to see a wrong one fail. */
  sshCommandWith(files: SshClientFiles): string;
  /** A new key pair in the server's folder; not authorized unless authorize() is called. */
  createKey(name: string): Promise<SshKey>;
  /** Lets `publicKey` log in too. */
  authorize(publicKey: string): Promise<void>;
}

export interface SshGitServerOptions {
  reposDir: string;
  /** A private folder for sshd's config, keys and pid file. */
  stateDir: string;
  onSpawn?: (pid: number) => void;
}

/** Quotes a value for the POSIX shell git runs GIT_SSH_COMMAND with. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function sshdConfig(port: number, stateDir: string, user: string): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    'AddressFamily inet',
    `HostKey ${join(stateDir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(stateDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(stateDir, 'authorized_keys')}`,
    // The temp folders are not laid out the way StrictModes wants a home directory to be.
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitEmptyPasswords no',
    // CI runs as root; keys only.
    'PermitRootLogin prohibit-password',
    `AllowUsers ${user}`,
    // Lets git speak protocol v2 over SSH.
    'AcceptEnv GIT_PROTOCOL',
    // The server-side git must not read the machine's or root's own git configuration.
    // SHLVL=1: bash then skips ~/.bashrc for ssh commands; a slow or chatty one (pyenv, echo)
    // costs hundreds of ms per connection or corrupts the git protocol on stdout.
    'SetEnv GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null SHLVL=1',
    // The post-quantum default key exchange costs ~100 ms per connection on a busy machine.
    'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
    'PermitTTY no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'PrintMotd no',
    'UseDNS no',
    // Parallel test workers may open many connections at once.
    'MaxStartups 100:30:200',
    'LogLevel INFO',
    '',
  ].join('\n');
}

export async function startSshGitServer(options: SshGitServerOptions): Promise<SshGitServer> {
  const sshd = await ensureSshd();
  const { stateDir, reposDir } = options;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const user = userInfo().username;
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user)) {
    throw new GitOpsError(ErrorCodes.InvalidName, `the user name "${user}" cannot be used in an SSH URL`, {
      details: { field: 'user' },
    });
  }
  const hostKeyLine = await generateKey(join(stateDir, 'ssh_host_ed25519_key'), 'libgitops-test-host');
  const hostPublicKey = hostKeyLine.split(' ').slice(0, 2).join(' ');
  const client = await generateKeyIn(stateDir, 'id_ed25519', 'libgitops-test-client');
  const authorizedKeys = join(stateDir, 'authorized_keys');
  // `restrict` leaves only running a command, which is all git needs.
  await writeFile(authorizedKeys, `restrict ${client.publicKey}\n`, { mode: 0o600 });

  const configFile = join(stateDir, 'sshd_config');
  const processFor = async (port: number): Promise<ServerProcess> => {
    await writeFile(configFile, sshdConfig(port, stateDir, user), { mode: 0o600 });
    return new ServerProcess({
      name: `sshd on 127.0.0.1:${port}`,
      // sshd re-executes itself and so must be started by its absolute path.
      command: sshd,
      args: ['-D', '-e', '-f', configFile],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/bin' },
      ready: /Server listening on/,
      onSpawn: options.onSpawn,
    });
  };
  const { port, server } = await onFreePort(async (candidate) => {
    const started = await processFor(candidate);
    await started.start();
    return { port: candidate, server: started };
  });

  const knownHostsLine = `[127.0.0.1]:${port} ${hostPublicKey}`;
  const knownHostsFile = join(stateDir, 'known_hosts');
  await writeFile(knownHostsFile, `${knownHostsLine}\n`, { mode: 0o600 });

  const sshCommandWith = (files: SshClientFiles): string =>
    [
      'ssh',
      '-i',
      shellQuote(files.identityFile ?? client.identityFile),
      '-o',
      shellQuote(`UserKnownHostsFile=${files.knownHostsFile ?? knownHostsFile}`),
      '-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes',
      // Nothing from the machine's ssh configuration or global known_hosts may change the outcome.
      '-F /dev/null -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20',
    ].join(' ');
  const sshCommand = sshCommandWith({});
  const urlOf = (name: string): string => `ssh://${user}@127.0.0.1:${port}${join(reposDir, `${name}.git`)}`;

  return {
    transport: 'ssh',
    port,
    user,
    identityFile: client.identityFile,
    knownHostsFile,
    knownHostsLine,
    hostPublicKey,
    sshCommand,
    sshCommandWith,
    get running() {
      return server.running;
    },
    urlOf,
    remoteOf: (name: string): GitRemote => ({
      transport: 'ssh',
      url: urlOf(name),
      env: { GIT_SSH_COMMAND: sshCommand, GIT_SSH_VARIANT: 'ssh' },
    }),
    createKey: (name: string) => generateKeyIn(stateDir, name, `libgitops-test-${name}`),
    authorize: async (publicKey: string) => {
      if (/[\r\n]/.test(publicKey)) {
        throw new GitOpsError(ErrorCodes.Invalid, 'a public key is one line', {
          details: { field: 'publicKey' },
        });
      }
      await appendFile(authorizedKeys, `restrict ${publicKey.trim()}\n`);
    },
    stop: () => server.stop(),
    restart: async () => {
      await server.stop();
      await server.start();
    },
  };
}

async function generateKeyIn(dir: string, name: string, comment: string): Promise<SshKey> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new GitOpsError(ErrorCodes.InvalidName, `"${name}" is not a key file name`, {
      details: { field: 'name' },
    });
  }
  const identityFile = join(dir, name);
  // ssh-keygen would stop and ask before overwriting a file.
  if (
    await stat(identityFile).then(
      () => true,
      () => false,
    )
  ) {
    throw new GitOpsError(ErrorCodes.AlreadyExists, `a key named "${name}" already exists`, {
      details: { file: identityFile },
    });
  }
  return { identityFile, publicKey: await generateKey(identityFile, comment) };
}
