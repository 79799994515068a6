/**
 * Debian's OpenSSH pieces the SSH remote needs: sshd (installed here on a fresh machine when we
 * are root, since CI machines start without it) and ssh-keygen for keys.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdir, readFile } from 'node:fs/promises';

import { withLock } from '../cache.js';
import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';

export const sshdPath = '/usr/sbin/sshd';
const installHint =
  'install Debian\'s openssh-server ("apt-get update && apt-get install -y openssh-server")';

interface Run {
  ok: boolean;
  output: string;
}

function run(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}${err && !stderr ? err.message : ''}`;
        resolve({ ok: !err, output: output.trim().split('\n').slice(-15).join('\n') });
      },
    );
  });
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

let ensured: Promise<string> | undefined;

/** The path of sshd, installing openssh-server first if it is missing and we may. */
export function ensureSshd(): Promise<string> {
  ensured ??= findOrInstallSshd();
  ensured.catch(() => (ensured = undefined));
  return ensured;
}

async function findOrInstallSshd(): Promise<string> {
  const root = process.getuid?.() === 0;
  if (!(await executable(sshdPath))) {
    if (!root) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `${sshdPath} is missing and the tests do not run as root, so they cannot install it: ${installHint}`,
        { details: { file: sshdPath } },
      );
    }
    // Two test processes may both find it missing; one installs, the other waits and finds it.
    await withLock('apt-openssh-server', async () => {
      if (await executable(sshdPath)) return;
      const args = ['install', '-y', '-qq', '--no-install-recommends', 'openssh-server'];
      let result = await run('apt-get', args, 10 * 60_000);
      if (!result.ok) {
        // A fresh machine often has no package lists yet.
        const update = await run('apt-get', ['update', '-qq'], 10 * 60_000);
        result = update.ok ? await run('apt-get', args, 10 * 60_000) : update;
      }
      if (!result.ok || !(await executable(sshdPath))) {
        throw new GitOpsError(
          ErrorCodes.NotFound,
          `${sshdPath} is missing and installing openssh-server failed; ${installHint}:\n${result.output}`,
          { details: { file: sshdPath } },
        );
      }
    });
  }
  // As root, sshd insists on its privilege-separation folder, which a container may lack.
  if (root) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  return sshdPath;
}

/** Generates an ed25519 key pair without a passphrase; returns the public key line. */
export async function generateKey(privateKeyFile: string, comment: string): Promise<string> {
  const result = await run(
    'ssh-keygen',
    ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKeyFile],
    60_000,
  );
  if (!result.ok) {
    throw new GitOpsError(
      ErrorCodes.NotFound,
      `ssh-keygen could not make a key (is Debian's openssh-client installed?): ${result.output}`,
      { details: { file: privateKeyFile } },
    );
  }
  return (await readFile(`${privateKeyFile}.pub`, 'utf8')).trim();
}
