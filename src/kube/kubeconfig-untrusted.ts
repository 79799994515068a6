/**
 * A kubeconfig that comes from someone else (a Secret an Application names). Such a kubeconfig
 * may only carry its material inline: a file reference would read the operator's own files (its
 * service account token, say), an exec plugin or auth provider would run a program on the
 * operator's host. The text is parsed once, here, with no YAML merge keys; every level is checked
 * against an allow-list; and the configuration is built from the checked fields alone. The raw
 * text never reaches `@kubernetes/client-node`, whose own parser reads `token-file`s while
 * parsing and applies merge keys a check on another reading would not see.
 * Messages name entries and keys, never values: the text is a secret.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Context, User } from '@kubernetes/client-node';
import { lazyModule } from '../runtime/index.js';

const clientNode = lazyModule<typeof ClientNodeModule>('@kubernetes/client-node');

/** An empty KubeConfig; client-node is loaded on the first call (seconds that commands without a cluster never pay). */
export function newKubeConfig(): KubeConfig {
  return new (clientNode().KubeConfig)();
}
import jsYaml from 'js-yaml';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type * as ClientNodeModule from '@kubernetes/client-node';

export interface UntrustedKubeconfigOptions {
  /** Accept `insecure-skip-tls-verify: true` (refused by default: anyone on the path could answer). */
  allowInsecureTls?: boolean;
  /** Names the text in messages, e.g. `Secret team-a/prod-cluster key value`. */
  source: string;
}

/** The top-level keys of a kubeconfig; `extensions` and `preferences` are data only: accepted and not used. */
export const KUBECONFIG_TOP_KEYS: ReadonlySet<string> = new Set([
  'apiVersion',
  'kind',
  'clusters',
  'users',
  'contexts',
  'current-context',
  'preferences',
  'extensions',
]);
const CLUSTER_KEYS = new Set([
  'server',
  'certificate-authority-data',
  'tls-server-name',
  'insecure-skip-tls-verify',
  'proxy-url',
  'extensions',
]);
const USER_KEYS = new Set([
  'client-certificate-data',
  'client-key-data',
  'token',
  'username',
  'password',
  'as',
  'extensions',
]);
const CONTEXT_KEYS = new Set(['cluster', 'user', 'namespace', 'extensions']);
const WHY: Record<string, string> = {
  'certificate-authority': 'reads a file on the operator host; use certificate-authority-data',
  'client-certificate': 'reads a file on the operator host; use client-certificate-data',
  'client-key': 'reads a file on the operator host; use client-key-data',
  tokenFile: 'reads a file on the operator host; use token',
  'token-file': 'reads a file on the operator host; use token',
  exec: 'runs a program on the operator host; put a token or client certificate in the kubeconfig',
  'auth-provider': 'runs an auth provider on the operator host; put a token in the kubeconfig',
  '<<': 'merges another mapping in; YAML merge keys are refused here',
};

/**
 * A KubeConfig built only from the checked, embedded fields of `text`; Invalid (naming the entry
 * and key, never a value) for anything else.
 */
export function untrustedKubeConfig(text: string, options: UntrustedKubeconfigOptions): KubeConfig {
  const { source } = options;
  let parsed: unknown;
  try {
    // JSON_SCHEMA: plain data only, and `<<` stays an ordinary key (refused below), never a merge.
    parsed = jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA });
  } catch (err) {
    // js-yaml's message quotes the offending text: keep only where it is.
    const mark = (err as { mark?: { line?: number; column?: number } }).mark;
    const where =
      mark?.line === undefined ? '' : ` at line ${mark.line + 1}, column ${(mark.column ?? 0) + 1}`;
    throw invalid(source, `is not valid YAML${where}`, {});
  }
  if (!isRecord(parsed)) throw invalid(source, 'is not a kubeconfig (not a YAML mapping)', {});
  for (const key of Object.keys(parsed)) {
    if (!KUBECONFIG_TOP_KEYS.has(key)) throw refusedKey(source, 'the kubeconfig', key);
  }
  const clusters = entries(parsed, 'clusters', 'cluster', CLUSTER_KEYS, source).map(
    ([name, body]): Cluster => {
      if (body['insecure-skip-tls-verify'] === true && options.allowInsecureTls !== true) {
        throw invalid(
          source,
          `cluster ${JSON.stringify(name)} sets insecure-skip-tls-verify, which is refused: ` +
            'give certificate-authority-data instead',
          { entry: name, key: 'insecure-skip-tls-verify' },
        );
      }
      const server = text_(body, 'server', name, source);
      if (server === undefined) {
        throw invalid(source, `cluster ${JSON.stringify(name)} has no server`, {
          entry: name,
          key: 'server',
        });
      }
      return {
        name,
        server,
        skipTLSVerify: body['insecure-skip-tls-verify'] === true,
        ...optional('caData', text_(body, 'certificate-authority-data', name, source)),
        ...optional('tlsServerName', text_(body, 'tls-server-name', name, source)),
        ...optional('proxyUrl', text_(body, 'proxy-url', name, source)),
      };
    },
  );
  const users = entries(parsed, 'users', 'user', USER_KEYS, source).map(([name, body]): User => ({
    name,
    ...optional('certData', text_(body, 'client-certificate-data', name, source)),
    ...optional('keyData', text_(body, 'client-key-data', name, source)),
    ...optional('token', text_(body, 'token', name, source)),
    ...optional('username', text_(body, 'username', name, source)),
    ...optional('password', text_(body, 'password', name, source)),
    ...optional('impersonateUser', text_(body, 'as', name, source)),
  }));
  const contexts = entries(parsed, 'contexts', 'context', CONTEXT_KEYS, source).map(
    ([name, body]): Context => {
      const cluster = text_(body, 'cluster', name, source);
      const user = text_(body, 'user', name, source);
      if (cluster === undefined || user === undefined) {
        throw invalid(source, `context ${JSON.stringify(name)} needs a cluster and a user`, { entry: name });
      }
      return { name, cluster, user, ...optional('namespace', text_(body, 'namespace', name, source)) };
    },
  );
  const current = parsed['current-context'];
  if (current !== undefined && typeof current !== 'string') {
    throw invalid(source, 'has a current-context that is not a name', { key: 'current-context' });
  }
  const config = newKubeConfig();
  config.loadFromOptions({ clusters, users, contexts, currentContext: current ?? '' });
  return config;
}

// The `[name, body]` pairs of a list such as `users: [{name, user: {...}}]`, every key checked.
function entries(
  config: Record<string, unknown>,
  list: string,
  bodyKey: string,
  allowed: ReadonlySet<string>,
  source: string,
): Array<[string, Record<string, unknown>]> {
  const value = config[list];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(source, `has a ${list} that is not a list`, { key: list });
  return value.map((entry: unknown, i): [string, Record<string, unknown>] => {
    if (!isRecord(entry))
      throw invalid(source, `has a ${list} entry #${i} that is not a mapping`, { key: list });
    const name = typeof entry.name === 'string' && entry.name !== '' ? entry.name : undefined;
    if (name === undefined) throw invalid(source, `has a ${list} entry #${i} without a name`, { key: list });
    for (const key of Object.keys(entry)) {
      if (key !== 'name' && key !== bodyKey)
        throw refusedKey(source, `${bodyKey} entry ${JSON.stringify(name)}`, key);
    }
    const body = entry[bodyKey];
    if (!isRecord(body)) {
      throw invalid(source, `${bodyKey} ${JSON.stringify(name)} has no ${bodyKey} mapping`, { entry: name });
    }
    for (const key of Object.keys(body)) {
      if (!allowed.has(key)) throw refusedKey(source, `${bodyKey} ${JSON.stringify(name)}`, key, name);
    }
    return [name, body];
  });
}

function text_(
  body: Record<string, unknown>,
  key: string,
  entry: string,
  source: string,
): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw invalid(source, `${JSON.stringify(entry)} has a ${key} that is not text`, { entry, key });
  }
  return value;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function refusedKey(source: string, where: string, key: string, entry?: string): GitOpsError {
  const why = WHY[key] ?? 'is not a field a kubeconfig from a Secret may use';
  return invalid(source, `${where} has "${key}", which ${why}`, {
    ...(entry === undefined ? {} : { entry }),
    key,
  });
}

function invalid(source: string, what: string, details: Record<string, string>): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, `the kubeconfig in ${source} ${what}`, {
    details: { ...details, source },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
