/**
 * Secrets in URLs, scrubbed from any text before it is shown: errors, logs, status. A URL may
 * carry a password or token in its user part (`https://user:pass@host`, `https://token@host`),
 * in its query (`?access_token=...`) or in its fragment; scp-like git remotes may carry one as
 * `user:pass@host:path`. What is kept: the scheme, the user name beside a password, a bare user name of ssh/git URLs, the host,
 * the path and the query's parameter names.
 */

const SCHEME_URL = /([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s"'<>`]*)/g;
// `user:password@host:path`, standing alone in a text (not inside a scheme URL).
const SCP_WITH_PASSWORD = /(^|[\s"'(=,[])([^\s@/:"'()=,[\]]+):[^\s@/"'()]*@([^\s@/:"'()]+:)/g;

const REDACTED = '***';

function redactRest(scheme: string, rest: string): string {
  const end = rest.search(/[/?#]/);
  let authority = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? '' : rest.slice(end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const user = authority.slice(0, at);
    const colon = user.indexOf(':');
    const host = authority.slice(at);
    const web = /^https?$/i.test(scheme);
    // A user name beside a password is kept; a bare user of an http(s) URL is usually a token,
    // while an ssh user (`git`) is not a secret.
    if (colon !== -1) authority = `${user.slice(0, colon)}:${REDACTED}${host}`;
    else authority = `${web ? REDACTED : user}${host}`;
  }
  const hash = tail.indexOf('#');
  let path = hash === -1 ? tail : tail.slice(0, hash);
  path = path.replace(/([?&][^=&#]*=)[^&#]*/g, `$1${REDACTED}`);
  return authority + path + (hash === -1 ? '' : `#${REDACTED}`);
}

/** `text` with every secret a URL in it may carry replaced by `***`. */
export function redactUrlSecrets(text: string): string {
  if (!text.includes('@') && !text.includes('?') && !text.includes('#')) return text;
  return text
    .replace(SCHEME_URL, (_m, scheme: string, rest: string) => `${scheme}://${redactRest(scheme, rest)}`)
    .replace(SCP_WITH_PASSWORD, `$1$2:${REDACTED}@$3`);
}
