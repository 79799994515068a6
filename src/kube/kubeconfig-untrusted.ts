/**
 * Checks a kubeconfig that comes from someone else (a Secret an Application names) before
 * anything reads it. Such a kubeconfig may only carry its material inline: a file reference
 * would read the operator's own files (its service account token, say), an exec plugin or auth
 * provider would run a program on the operator's host. `@kubernetes/client-node` reads a
 * `token-file` while parsing, so the check has to come first and work on the raw text.
 * Messages name entries and keys, never values: the text is a secret.
 */
import jsYaml from 'js-yaml';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';

export interface UntrustedKubeconfigOptions {
  /** Accept `insecure-skip-tls-verify: true` (refused by default: anyone on the path could answer). */
  allowInsecureTls?: boolean;
  /** Names the text in messages, e.g. `Secret team-a/prod-cluster key value`. */
  source: string;
}

const CLUSTER_KEYS = new Set([
  'server',
  'certificate-authority-data',
  'tls-server-name',
  'insecure-skip-tls-verify',
  'proxy-url',
  'disable-compression',
  'extensions',
]);
const USER_KEYS = new Set([
  'client-certificate-data',
  'client-key-data',
  'token',
  'username',
  'password',
  'as',
  'as-uid',
  'as-groups',
  'as-user-extra',
  'extensions',
]);
const WHY: Record<string, string> = {
  'certificate-authority': 'reads a file on the operator host; use certificate-authority-data',
  'client-certificate': 'reads a file on the operator host; use client-certificate-data',
  'client-key': 'reads a file on the operator host; use client-key-data',
  tokenFile: 'reads a file on the operator host; use token',
  'token-file': 'reads a file on the operator host; use token',
  exec: 'runs a program on the operator host; put a token or client certificate in the kubeconfig',
  'auth-provider': 'runs an auth provider on the operator host; put a token in the kubeconfig',
};

/** Throws a GitOpsError (Invalid) unless `text` is a kubeconfig with embedded material only. */
export function checkUntrustedKubeconfig(text: string, options: UntrustedKubeconfigOptions): void {
  let parsed: unknown;
  try {
    parsed = jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA, json: false });
  } catch (err) {
    // js-yaml's message quotes the offending text: keep only where it is.
    const mark = (err as { mark?: { line?: number; column?: number } }).mark;
    const where =
      mark?.line === undefined ? '' : ` at line ${mark.line + 1}, column ${(mark.column ?? 0) + 1}`;
    throw invalid(options.source, `is not valid YAML${where}`, {});
  }
  if (!isRecord(parsed)) throw invalid(options.source, 'is not a kubeconfig (not a YAML mapping)', {});
  const sections: Array<[string, string, Set<string>]> = [
    ['clusters', 'cluster', CLUSTER_KEYS],
    ['users', 'user', USER_KEYS],
  ];
  for (const [list, entryKey, allowed] of sections) {
    const entries = parsed[list];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw invalid(options.source, `has a ${list} that is not a list`, { list });
    for (const [i, entry] of entries.entries()) {
      const name = isRecord(entry) && typeof entry.name === 'string' ? entry.name : `#${i}`;
      const body = isRecord(entry) ? entry[entryKey] : undefined;
      if (!isRecord(body)) continue;
      for (const key of Object.keys(body)) {
        if (key === 'insecure-skip-tls-verify') {
          if (body[key] === true && options.allowInsecureTls !== true) {
            throw invalid(
              options.source,
              `${entryKey} ${JSON.stringify(name)} sets insecure-skip-tls-verify, which is refused: ` +
                'give certificate-authority-data instead',
              { entry: name, key },
            );
          }
          continue;
        }
        if (allowed.has(key)) continue;
        const why = WHY[key] ?? 'is not a field a kubeconfig from a Secret may use';
        throw invalid(options.source, `${entryKey} ${JSON.stringify(name)} has "${key}", which ${why}`, {
          entry: name,
          key,
        });
      }
    }
  }
}

function invalid(source: string, what: string, details: Record<string, string>): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, `the kubeconfig in ${source} ${what}`, {
    details: { ...details, source },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
