/**
 * A cluster the user points the tests at (LIBGITOPS_TEST_KUBECONFIG, else KUBECONFIG): nothing is
 * built or started, and the current context's server, CA and credentials are read from the file.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import type { ClusterAccess } from './kube-request.js';

/** The kubeconfig the user chose for tests, or undefined to start our own control plane. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.LIBGITOPS_TEST_KUBECONFIG) return env.LIBGITOPS_TEST_KUBECONFIG;
  // KUBECONFIG may list several files; kubectl merges them, we take the first that exists.
  const first = (env.KUBECONFIG ?? '').split(':').find((path) => path && existsSync(path));
  return first;
}

interface NamedEntry<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: NamedEntry<Record<string, unknown>>[];
  users?: NamedEntry<Record<string, unknown>>[];
  contexts?: NamedEntry<{ cluster?: string; user?: string }>[];
}

/** Reads the current context's access from a kubeconfig file (client certificate or token only). */
export async function readKubeconfig(path: string): Promise<ClusterAccess> {
  let config: KubeconfigFile;
  try {
    config = parse(await readFile(path, 'utf8')) as KubeconfigFile;
  } catch (err) {
    throw new GitOpsError(ErrorCodes.Invalid, `cannot read kubeconfig ${path}: ${(err as Error).message}`, {
      details: { file: path },
      cause: err,
    });
  }
  const fail = (message: string): GitOpsError =>
    new GitOpsError(ErrorCodes.Invalid, `kubeconfig ${path}: ${message}`, { details: { file: path } });
  const contextName = config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw fail(`current-context "${contextName ?? ''}" is not among its contexts`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string')
    throw fail(`cluster "${context.cluster ?? ''}" has no server`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  if (user.exec || user['auth-provider']) {
    throw fail(
      `user "${context.user ?? ''}" authenticates with exec/auth-provider; the test helpers need a client certificate or a token`,
    );
  }
  const base = dirname(path);
  const pem = async (data: unknown, file: unknown): Promise<string | undefined> => {
    if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
    if (typeof file === 'string') return readFile(isAbsolute(file) ? file : resolve(base, file), 'utf8');
    return undefined;
  };
  const tokenFile = user.tokenFile;
  const token =
    typeof user.token === 'string'
      ? user.token
      : typeof tokenFile === 'string'
        ? (await readFile(resolve(base, tokenFile), 'utf8')).trim()
        : undefined;
  return {
    kubeconfigPath: path,
    server: cluster.server,
    caPem: await pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
    certPem: await pem(user['client-certificate-data'], user['client-certificate']),
    keyPem: await pem(user['client-key-data'], user['client-key']),
    token,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
}
