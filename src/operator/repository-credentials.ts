/**
 * Repository credentials from the Secret an Application names (`spec.source.credentialsSecretRef`),
 * read from the Application's own namespace only, so an Application cannot borrow another
 * namespace's Secret. Keys follow Argo CD and Flux: `username`+`password` or `token` for HTTPS,
 * `identity`+`known_hosts` (or `sshPrivateKey`+`knownHosts`) for SSH.
 */
import type { Credentials } from '../git/index.js';
import type { ChartRepository } from '../helm/index.js';
import type { KubeClient } from '../kube/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { Application } from './application.js';

/** The credentials for `app`'s repository, or undefined when it names no Secret. */
export async function credentialsFromSecret(
  client: KubeClient,
  app: Application,
): Promise<Credentials | undefined> {
  const ref = app.spec.source.credentialsSecretRef;
  if (ref === undefined) return undefined;
  const namespace = app.metadata.namespace;
  const object = `/Secret/${namespace}/${ref.name}`;
  let secret: KubeObject | undefined;
  try {
    secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace, name: ref.name });
  } catch (cause) {
    throw new GitOpsError(
      ErrorCodes.AuthFailed,
      `could not read the repository credentials Secret ${namespace}/${ref.name}; ` +
        'check that it exists and that the operator may get Secrets in this namespace',
      { cause, details: { field: '.spec.source.credentialsSecretRef.name', object } },
    );
  }
  if (secret === undefined) {
    throw new GitOpsError(
      ErrorCodes.NotFound,
      `the repository credentials Secret ${namespace}/${ref.name} does not exist; create it in the ` +
        "Application's namespace",
      { details: { field: '.spec.source.credentialsSecretRef.name', object } },
    );
  }
  return credentialsFromSecretData(decodeSecretData(secret), `${namespace}/${ref.name}`, app);
}

/** `data` (base64) and `stringData` of a Secret as text; stringData wins, as the API server does. */
function decodeSecretData(secret: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  for (const [key, value] of Object.entries(data)) out[key] = Buffer.from(value, 'base64').toString('utf8');
  const stringData = (secret as { stringData?: Record<string, string> }).stringData ?? {};
  for (const [key, value] of Object.entries(stringData)) out[key] = value;
  return out;
}

/** Credentials from a Secret's decoded keys; Invalid (naming keys, never values) when they make none. */
export function credentialsFromSecretData(
  data: Record<string, string>,
  secretName: string,
  app: Pick<Application, 'spec'>,
): Credentials {
  const pick = (...keys: string[]): string | undefined => {
    for (const key of keys) if (data[key] !== undefined && data[key] !== '') return data[key];
    return undefined;
  };
  const identity = pick('identity', 'sshPrivateKey');
  const knownHosts = pick('known_hosts', 'knownHosts');
  const username = pick('username');
  const password = pick('password');
  const token = pick('token');
  const isSsh = /^ssh:\/\//.test(app.spec.source.repoURL) || /^[^/:]+@[^/:]+:/.test(app.spec.source.repoURL);
  if (isSsh || identity !== undefined) {
    if (identity === undefined || knownHosts === undefined) {
      throw invalid(secretName, 'an SSH repository needs the keys "identity" and "known_hosts"');
    }
    return {
      type: 'ssh',
      privateKey: identity,
      knownHosts,
      ...(username === undefined ? {} : { user: username }),
    };
  }
  if (token !== undefined) return { type: 'https', token, ...(username === undefined ? {} : { username }) };
  if (username !== undefined && password !== undefined) return { type: 'https', username, password };
  throw invalid(secretName, 'an HTTPS repository needs the keys "username" and "password", or "token"');
}

function invalid(secretName: string, need: string): GitOpsError {
  return new GitOpsError(
    ErrorCodes.Invalid,
    `the repository credentials Secret ${secretName} is unusable: ${need}`,
    {
      details: { field: '.spec.source.credentialsSecretRef.name' },
    },
  );
}

/**
 * The chart repositories an application names (`spec.source.helm.repositories`), each with the
 * `username`/`password` and `ca.crt` of its Secret (in the application's namespace).
 */
export async function chartRepositoriesFromSecrets(
  client: KubeClient,
  app: Application,
): Promise<ChartRepository[]> {
  const namespace = app.metadata.namespace;
  const out: ChartRepository[] = [];
  for (const [i, repo] of (app.spec.source.helm?.repositories ?? []).entries()) {
    const ref = repo.secretRef;
    if (ref === undefined) {
      out.push({ url: repo.url });
      continue;
    }
    const field = `.spec.source.helm.repositories[${i}].secretRef.name`;
    const secret = await client
      .get({ apiVersion: 'v1', kind: 'Secret', namespace, name: ref.name })
      .catch((cause: unknown) => {
        throw new GitOpsError(
          ErrorCodes.AuthFailed,
          `could not read the chart repository Secret ${namespace}/${ref.name}; check that it exists and that the operator may get Secrets in this namespace`,
          { cause, details: { field } },
        );
      });
    if (secret === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `the chart repository Secret ${namespace}/${ref.name} does not exist; create it in the Application's namespace`,
        { details: { field } },
      );
    }
    const data = decodeSecretData(secret);
    out.push({
      url: repo.url,
      ...(data.username ? { username: data.username } : {}),
      ...(data.password ? { password: data.password } : {}),
      ...(data['ca.crt'] ? { caData: data['ca.crt'] } : {}),
    });
  }
  return out;
}
