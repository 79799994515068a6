/**
 * The plain kubeconfig, read without `@kubernetes/client-node`: a context whose cluster and user
 * carry only a server, certificates and keys (inline or in files), a bearer token and TLS
 * settings, which is what a control plane's admin kubeconfig and most CI ones are. Loading
 * client-node's generated API costs a process some 50 MB for as long as it runs; for these
 * fields its answer is plain reading, made here the way it makes it (paths relative to the
 * file, files read again at each refresh, `Bearer <token>`). Anything else (exec plugins, auth
 * providers, token files, proxies, impersonation, basic auth, merge keys, entries client-node
 * would refuse, a missing context) answers `undefined`, and the caller goes to client-node, so
 * every error and every other feature stays exactly its.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

import jsYaml from 'js-yaml';

import { KUBECONFIG_TOP_KEYS } from './kubeconfig-untrusted.js';

const CLUSTER_KEYS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'tls-server-name',
  'insecure-skip-tls-verify',
  'extensions',
]);
const USER_KEYS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
]);
const CONTEXT_KEYS = new Set(['cluster', 'user', 'namespace', 'extensions']);

/** What the connection needs of a plain kubeconfig's current context. */
export interface PlainKubeconfig {
  contextName: string;
  clusterName: string;
  /** As client-node keeps it: one trailing slash removed. */
  server: string;
  namespace: string | undefined;
  /** Reads the TLS material and headers (files are read at each call, as client-node does). */
  read(): PlainCredentials;
}

export interface PlainCredentials {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
  headers: Record<string, string>;
}

/** The plain reading of the kubeconfig file `file`, or undefined when client-node must read it. */
export function plainKubeconfig(file: string, context?: string): PlainKubeconfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // Merge keys, and anything js-yaml versions could read apart, are left to client-node.
  if (text.includes('<<')) return undefined;
  let parsed: unknown;
  try {
    parsed = jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA });
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || Object.keys(parsed).some((k) => !KUBECONFIG_TOP_KEYS.has(k))) return undefined;
  const clusters = named(parsed.clusters, 'cluster', CLUSTER_KEYS);
  const users = named(parsed.users, 'user', USER_KEYS);
  const contexts = named(parsed.contexts, 'context', CONTEXT_KEYS);
  if (clusters === undefined || users === undefined || contexts === undefined) return undefined;
  const current = context ?? parsed['current-context'];
  if (typeof current !== 'string' || current === '') return undefined;
  const ctx = contexts.get(current);
  if (ctx === undefined) return undefined;
  const clusterName = ctx.cluster;
  const userName = ctx.user;
  const namespace = ctx.namespace;
  if (
    typeof clusterName !== 'string' ||
    clusterName === '' ||
    typeof userName !== 'string' ||
    userName === ''
  )
    return undefined;
  if (namespace !== undefined && typeof namespace !== 'string') return undefined;
  const cluster = clusters.get(clusterName);
  const user = users.get(userName);
  if (cluster === undefined || user === undefined) return undefined;
  // client-node refuses a cluster without a server anywhere in the file: so it reports it.
  for (const body of clusters.values())
    if (typeof body.server !== 'string' || body.server === '') return undefined;
  for (const body of contexts.values())
    if (typeof body.cluster !== 'string' || body.cluster === '') return undefined;
  const texts = [
    cluster['certificate-authority'],
    cluster['certificate-authority-data'],
    cluster['tls-server-name'],
    user['client-certificate'],
    user['client-certificate-data'],
    user['client-key'],
    user['client-key-data'],
    user.token,
  ];
  if (texts.some((v) => v !== undefined && typeof v !== 'string')) return undefined;
  const insecure = cluster['insecure-skip-tls-verify'];
  if (insecure !== undefined && typeof insecure !== 'boolean') return undefined;
  const root = dirname(file);
  const material = (path: unknown, data: unknown): (() => Buffer | undefined) => {
    if (typeof path === 'string' && path !== '') {
      const absolute = isAbsolute(path) ? path : join(root, path);
      return () => readFileSync(absolute);
    }
    if (typeof data === 'string' && data !== '') {
      const value = Buffer.from(data, 'base64');
      return () => value;
    }
    return () => undefined;
  };
  const ca = material(cluster['certificate-authority'], cluster['certificate-authority-data']);
  const cert = material(user['client-certificate'], user['client-certificate-data']);
  const key = material(user['client-key'], user['client-key-data']);
  const token = user.token as string | undefined;
  const servername = cluster['tls-server-name'] as string | undefined;
  return {
    contextName: current,
    clusterName,
    server: (cluster.server as string).replace(/\/$/, ''),
    namespace: namespace === '' ? undefined : namespace,
    read: () => {
      const credentials: PlainCredentials = { rejectUnauthorized: insecure !== true, headers: {} };
      const [caValue, certValue, keyValue] = [ca(), cert(), key()];
      if (caValue !== undefined) credentials.ca = caValue;
      if (certValue !== undefined) credentials.cert = certValue;
      if (keyValue !== undefined) credentials.key = keyValue;
      if (servername !== undefined && servername !== '') credentials.servername = servername;
      if (token !== undefined && token !== '') credentials.headers.authorization = `Bearer ${token}`;
      return credentials;
    },
  };
}

// Entries by name, every key of every body allowed; undefined for anything else (a duplicate
// name too: which one client-node picks is its business).
function named(
  list: unknown,
  bodyKey: string,
  allowed: ReadonlySet<string>,
): Map<string, Record<string, unknown>> | undefined {
  const out = new Map<string, Record<string, unknown>>();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) return undefined;
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.name !== 'string' || entry.name === '' || out.has(entry.name))
      return undefined;
    if (Object.keys(entry).some((k) => k !== 'name' && k !== bodyKey)) return undefined;
    const body = entry[bodyKey];
    if (!isRecord(body) || Object.keys(body).some((k) => !allowed.has(k))) return undefined;
    out.set(entry.name, body);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
