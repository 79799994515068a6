/**
 * Signed commits. The signing settings reach git as environment configuration
 * (GIT_CONFIG_COUNT/KEY/VALUE) of the commit command only, never as arguments and never in
 * the repository's config, so nothing else run on the clone signs by accident.
 */
import { isAbsolute } from 'node:path';

import { invalidField } from '../runtime/index.js';

export type CommitSigning =
  /** An SSH key: git signs with `ssh-keygen -Y sign` using this private key file. */
  | { format: 'ssh'; keyFile: string }
  /** A GPG key by id, fingerprint or e-mail, from `gnupgHome` (default: GnuPG's own). */
  | { format: 'openpgp'; keyId: string; gnupgHome?: string };

/** Checks signing options early, so a bad one fails before a transaction starts. */
export function checkSigning(signing: CommitSigning): CommitSigning {
  if (signing.format === 'ssh') {
    if (
      typeof signing.keyFile !== 'string' ||
      !isAbsolute(signing.keyFile) ||
      /[\0\n\r]/.test(signing.keyFile)
    ) {
      throw invalidField(
        'signing.keyFile must be the absolute path of an SSH private key',
        'signing.keyFile',
      );
    }
    return signing;
  }
  if (signing.format === 'openpgp') {
    if (typeof signing.keyId !== 'string' || !/^[A-Za-z0-9@._+][A-Za-z0-9@._+ <>-]*$/.test(signing.keyId)) {
      throw invalidField(
        'signing.keyId must be a GPG key id, fingerprint or e-mail address',
        'signing.keyId',
      );
    }
    if (signing.gnupgHome !== undefined && !isAbsolute(signing.gnupgHome)) {
      throw invalidField('signing.gnupgHome must be an absolute path', 'signing.gnupgHome');
    }
    return signing;
  }
  throw invalidField('signing.format must be "ssh" or "openpgp"', 'signing.format');
}

/** The environment that makes a git commit (or cherry-pick) sign its commit. */
export function signingEnvironment(signing: CommitSigning | undefined): Record<string, string> {
  if (signing === undefined) return {};
  const settings: Array<[string, string]> = [
    ['commit.gpgSign', 'true'],
    ['gpg.format', signing.format],
    ['user.signingKey', signing.format === 'ssh' ? signing.keyFile : signing.keyId],
  ];
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(settings.length) };
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  if (signing.format === 'openpgp' && signing.gnupgHome !== undefined) env.GNUPGHOME = signing.gnupgHome;
  return env;
}
