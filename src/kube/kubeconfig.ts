/**
 * Where the cluster is and who we are to it. `@kubernetes/client-node` reads the kubeconfig and
 * runs its auth (client certificates, tokens, exec plugins, the in-cluster service account); we
 * take only the TLS material and headers it produces and make our own requests with them.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { RequestOptions } from 'node:https';

import type { KubeConfig } from '@kubernetes/client-node';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { plainKubeconfig } from './kubeconfig-plain.js';
import type { PlainKubeconfig } from './kubeconfig-plain.js';
import { newKubeConfig, untrustedKubeConfig } from './kubeconfig-untrusted.js';

export interface KubeconfigOptions {
  /** A kubeconfig file (`--kubeconfig`); wins over `KUBECONFIG` and the in-cluster account. */
  kubeconfigPath?: string;
  /** A context of the kubeconfig (`--context`); its current context by default. */
  context?: string;
  /** Use the pod's service account even when a kubeconfig exists. */
  inCluster?: boolean;
  /**
   * Root under which the service account's files are read (`<root>/var/run/secrets/...`);
   * '' in a pod. Only tests change it.
   */
  inClusterRoot?: string;
  /** The environment to read `KUBECONFIG`, `KUBERNETES_SERVICE_HOST` and `HOME` from. */
  env?: NodeJS.ProcessEnv;
  /** How long credentials (e.g. an exec plugin's token) are reused before asking again; 60 s. */
  credentialTtlMs?: number;
}

/** What one request needs to reach and authenticate to the API server. */
export interface RequestCredentials {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  pfx?: string | Buffer;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized: boolean;
  /** e.g. `authorization`; never logged. */
  headers: Record<string, string>;
  /** A proxy agent when the kubeconfig names a proxy; otherwise the client makes its own. */
  proxyAgent?: RequestOptions['agent'];
}

/** A cluster as a kubeconfig context describes it. */
export interface ClusterConnection {
  /** e.g. `https://127.0.0.1:6443`, without credentials. */
  readonly server: string;
  /** The context's namespace, `default` when it names none. */
  readonly namespace: string;
  readonly contextName: string;
  /** Where the configuration came from: a file path, or `in-cluster`. */
  readonly source: string;
  /** Credentials for the next request; cached, refreshed when `refresh` is true (after a 401). */
  credentials(refresh?: boolean): Promise<RequestCredentials>;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads a connection the way controllers do: an explicit file, else `KUBECONFIG` (a list of
 * files, merged), else the in-cluster service account when running in a pod, else
 * `~/.kube/config`.
 */
export function loadKubeconfig(options: KubeconfigOptions = {}): ClusterConnection {
  const env = options.env ?? process.env;
  const where = kubeconfigSource(options, env);
  // One file (not in-cluster, not a merged list) may be plain enough to read without client-node.
  const single =
    where.kind === 'list'
      ? where.files.length === 1
        ? where.files[0]
        : undefined
      : where.kind === 'in-cluster'
        ? undefined
        : where.file;
  const plain = single === undefined ? undefined : plainKubeconfig(single, options.context);
  if (plain !== undefined) return plainConnection(plain, single!, options.credentialTtlMs ?? 60_000);
  const config = newKubeConfig();
  let source: string;
  try {
    if (where.kind === 'in-cluster') {
      source = loadInCluster(config, options, env, where.asked);
    } else if (where.kind === 'path') {
      config.loadFromFile(where.file);
      source = where.file;
    } else if (where.kind === 'list') {
      loadFiles(config, where.files);
      source = where.files.join(delimiter);
    } else {
      if (!existsSync(where.file)) {
        throw new GitOpsError(
          ErrorCodes.BadRequest,
          `no cluster configured: no --kubeconfig, no KUBECONFIG, not in a pod, and no ${where.file}`,
          { details: { file: where.file } },
        );
      }
      config.loadFromFile(where.file);
      source = where.file;
    }
  } catch (err) {
    if (err instanceof GitOpsError) throw err;
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `cannot read the kubeconfig: ${err instanceof Error ? err.message : String(err)}`,
      { details: { file: options.kubeconfigPath ?? env.KUBECONFIG }, cause: err },
    );
  }
  if (options.context !== undefined) {
    if (config.getContextObject(options.context) === null) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `the kubeconfig has no context ${JSON.stringify(options.context)} ` +
          `(it has: ${config.contexts.map((c) => c.name).join(', ') || 'none'})`,
        { details: { file: source, context: options.context } },
      );
    }
    config.setCurrentContext(options.context);
  }
  return connectionOf(config, source, options.credentialTtlMs ?? 60_000);
}

/** Where `loadKubeconfig` reads, in the order controllers look (one place, for both readers). */
type KubeconfigSource =
  | {
      kind: 'in-cluster';
      /** Asked for (`inCluster`), not found by KUBERNETES_SERVICE_HOST. */ asked: boolean;
    }
  | { kind: 'path'; file: string }
  | { kind: 'list'; files: string[] }
  | { kind: 'home'; file: string };

function kubeconfigSource(options: KubeconfigOptions, env: NodeJS.ProcessEnv): KubeconfigSource {
  if (options.inCluster) return { kind: 'in-cluster', asked: true };
  if (options.kubeconfigPath) return { kind: 'path', file: options.kubeconfigPath };
  if (env.KUBECONFIG) return { kind: 'list', files: env.KUBECONFIG.split(delimiter).filter((f) => f !== '') };
  if (env.KUBERNETES_SERVICE_HOST) return { kind: 'in-cluster', asked: false };
  return { kind: 'home', file: join(env.HOME ?? homedir(), '.kube', 'config') };
}

/** A connection from a plain kubeconfig (kubeconfig-plain.ts), read as client-node reads it. */
function plainConnection(plain: PlainKubeconfig, source: string, ttlMs: number): ClusterConnection {
  return connectionFrom(
    {
      server: plain.server,
      clusterName: plain.clusterName,
      contextName: plain.contextName,
      namespace: plain.namespace,
      source,
      ttlMs,
    },
    // Async, so an unreadable file is a rejected read (AuthFailed), as client-node's is.
    async () => {
      const read = plain.read();
      return {
        ca: read.ca,
        cert: read.cert,
        key: read.key,
        pfx: undefined,
        passphrase: undefined,
        servername: read.servername,
        rejectUnauthorized: read.rejectUnauthorized,
        headers: read.headers,
        proxyAgent: undefined,
      };
    },
  );
}

export interface KubeconfigTextOptions {
  context?: string;
  credentialTtlMs?: number;
  /** Names the text in messages and as the connection's source; `text` by default. */
  source?: string;
  /**
   * The text comes from someone else (e.g. a Secret): only embedded material is accepted, no file
   * references, exec plugins or auth providers, and parse errors never quote the text.
   */
  untrusted?: boolean;
  /** With `untrusted`: accept `insecure-skip-tls-verify` (refused by default). */
  allowInsecureTls?: boolean;
}

/** A connection from kubeconfig text (e.g. a Secret's content); same rules as a file. */
export function kubeconfigFromText(text: string, options: KubeconfigTextOptions = {}): ClusterConnection {
  const source = options.source ?? 'text';
  let config: KubeConfig;
  if (options.untrusted === true) {
    // Built from checked fields only: the text never reaches client-node's own parser.
    config = untrustedKubeConfig(text, {
      source,
      ...(options.allowInsecureTls === undefined ? {} : { allowInsecureTls: options.allowInsecureTls }),
    });
  } else {
    config = newKubeConfig();
    try {
      config.loadFromString(text);
    } catch (err) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `cannot read the kubeconfig (${source}): ${errorText(err)}`,
        {
          cause: err,
          details: { source },
        },
      );
    }
  }
  if (options.context !== undefined) {
    if (config.getContextObject(options.context) === null) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `the kubeconfig (${source}) has no context ${JSON.stringify(options.context)} ` +
          `(it has: ${config.contexts.map((c) => c.name).join(', ') || 'none'})`,
        { details: { source, context: options.context } },
      );
    }
    config.setCurrentContext(options.context);
  }
  return connectionOf(config, source, options.credentialTtlMs ?? 60_000);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function loadFiles(config: KubeConfig, files: string[]): void {
  const [first, ...rest] = files;
  if (first === undefined) return;
  config.loadFromFile(first);
  for (const file of rest) {
    const more = newKubeConfig();
    more.loadFromFile(file);
    config.mergeConfig(more);
  }
}

function loadInCluster(
  config: KubeConfig,
  options: KubeconfigOptions,
  env: NodeJS.ProcessEnv,
  asked: boolean,
) {
  const root = options.inClusterRoot ?? '';
  const tokenFile = `${root}${SERVICE_ACCOUNT_TOKEN}`;
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT || !existsSync(tokenFile)) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      asked
        ? `not running in a pod: KUBERNETES_SERVICE_HOST/PORT unset or no service account token at ${tokenFile}`
        : `KUBERNETES_SERVICE_HOST is set but there is no service account token at ${tokenFile}`,
      { details: { file: tokenFile } },
    );
  }
  // client-node reads the host and port from process.env; lend it ours for the call.
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  process.env.KUBERNETES_SERVICE_HOST = env.KUBERNETES_SERVICE_HOST;
  process.env.KUBERNETES_SERVICE_PORT = env.KUBERNETES_SERVICE_PORT;
  try {
    config.loadFromCluster(root);
  } finally {
    restoreEnv('KUBERNETES_SERVICE_HOST', saved.host);
    restoreEnv('KUBERNETES_SERVICE_PORT', saved.port);
  }
  return 'in-cluster';
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function connectionOf(config: KubeConfig, source: string, ttlMs: number): ClusterConnection {
  const context = config.getContextObject(config.getCurrentContext());
  const cluster = config.getCurrentCluster();
  if (context === null || cluster === null) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `the kubeconfig (${source}) has no usable current context: set current-context or pass a context`,
      { details: { file: source } },
    );
  }
  const read = async (): Promise<RequestCredentials> => {
    const opts: RequestOptions = { headers: {} };
    await config.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
    }
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return {
      ca: opts.ca as string | Buffer | undefined,
      cert: opts.cert as string | Buffer | undefined,
      key: opts.key as string | Buffer | undefined,
      pfx: opts.pfx as string | Buffer | undefined,
      passphrase: opts.passphrase,
      servername: opts.servername ?? undefined,
      rejectUnauthorized: opts.rejectUnauthorized !== false,
      headers,
      proxyAgent: cluster.proxyUrl ? opts.agent : undefined,
    };
  };
  return connectionFrom(
    {
      server: cluster.server,
      clusterName: cluster.name,
      contextName: context.name,
      namespace: context.namespace,
      source,
      ttlMs,
    },
    read,
  );
}

/** The connection to `server`, its credentials from `read`, cached for `ttlMs`. */
function connectionFrom(
  at: {
    server: string;
    clusterName: string;
    contextName: string;
    namespace: string | undefined;
    source: string;
    ttlMs: number;
  },
  read: () => Promise<RequestCredentials>,
): ClusterConnection {
  const { source, ttlMs } = at;
  let server: URL;
  try {
    server = new URL(at.server);
  } catch (err) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `cluster ${at.clusterName} has no valid server URL (${JSON.stringify(at.server)})`,
      { details: { file: source }, cause: err },
    );
  }
  if (server.username !== '' || server.password !== '') {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `cluster ${at.clusterName}: credentials in the server URL are not accepted; use the user's fields`,
      { details: { file: source } },
    );
  }
  let cached: { at: number; value: Promise<RequestCredentials> } | undefined;
  return {
    server: server.origin + server.pathname.replace(/\/+$/, ''),
    namespace: at.namespace ?? 'default',
    contextName: at.contextName,
    source,
    credentials(refresh = false) {
      if (refresh || cached === undefined || Date.now() - cached.at > ttlMs) {
        const value = read().catch((err: unknown) => {
          cached = undefined;
          throw new GitOpsError(
            ErrorCodes.AuthFailed,
            `cannot get credentials for context ${at.contextName}: ${err instanceof Error ? err.message : String(err)}`,
            { details: { context: at.contextName }, cause: err },
          );
        });
        cached = { at: Date.now(), value };
      }
      return cached.value;
    },
  };
}
