/**
 * A throwaway certificate authority for one control plane, like envtest's: a CA, a serving
 * certificate for 127.0.0.1/localhost, an admin client certificate in system:masters and a
 * service-account signing key. openssl (run with argument arrays) signs; nothing leaves `dir`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { commandOutput } from './run-command.js';

export interface ControlPlanePki {
  /** Folder holding every file below (mode 0600 keys). */
  dir: string;
  caCertFile: string;
  caKeyFile: string;
  servingCertFile: string;
  servingKeyFile: string;
  adminCertFile: string;
  adminKeyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  caPem: string;
  adminCertPem: string;
  adminKeyPem: string;
}

// A day is far longer than any test run, and short enough that a leaked file is soon worthless.
const validDays = '1';

/** Writes a fresh PKI into `dir` (which must exist and be private to this control plane). */
export async function createPki(dir: string): Promise<ControlPlanePki> {
  const file = (name: string): string => join(dir, name);
  const pki = {
    dir,
    caCertFile: file('ca.crt'),
    caKeyFile: file('ca.key'),
    servingCertFile: file('apiserver.crt'),
    servingKeyFile: file('apiserver.key'),
    adminCertFile: file('admin.crt'),
    adminKeyFile: file('admin.key'),
    serviceAccountKeyFile: file('sa.key'),
    serviceAccountPublicKeyFile: file('sa.pub'),
  };
  await writeKey(pki.caKeyFile);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    pki.caKeyFile,
    '-subj',
    '/CN=libgitops-test-ca',
    '-days',
    validDays,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-out',
    pki.caCertFile,
  ]);
  await issue(pki, pki.servingKeyFile, pki.servingCertFile, '/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1',
    'extendedKeyUsage=serverAuth',
  ]);
  // The API server maps O to groups: system:masters is bound to cluster-admin, past RBAC.
  await issue(pki, pki.adminKeyFile, pki.adminCertFile, '/O=system:masters/CN=libgitops-test-admin', [
    'extendedKeyUsage=clientAuth',
  ]);
  const serviceAccount = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(
    pki.serviceAccountKeyFile,
    serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    { mode: 0o600 },
  );
  await writeFile(
    pki.serviceAccountPublicKeyFile,
    serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );
  return {
    ...pki,
    caPem: await readFile(pki.caCertFile, 'utf8'),
    adminCertPem: await readFile(pki.adminCertFile, 'utf8'),
    adminKeyPem: await readFile(pki.adminKeyFile, 'utf8'),
  };
}

/** An EC P-256 key: fast to make, and accepted by etcd, the API server and kubectl alike. */
async function writeKey(path: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
}

async function issue(
  pki: { caCertFile: string; caKeyFile: string },
  keyFile: string,
  certFile: string,
  subject: string,
  extensions: string[],
): Promise<void> {
  await writeKey(keyFile);
  // OpenSSL 3 signs with the CA straight from `req -x509 -CA`, without a CSR file.
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-CA',
    pki.caCertFile,
    '-CAkey',
    pki.caKeyFile,
    '-subj',
    subject,
    '-days',
    validDays,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    ...extensions.flatMap((extension) => ['-addext', extension]),
    '-out',
    certFile,
  ]);
}

async function openssl(args: string[]): Promise<void> {
  await commandOutput('openssl', args, { timeoutMs: 30_000 });
}
