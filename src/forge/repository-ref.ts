/**
 * A repository on a forge, named as people write it: `owner/name`, `group/subgroup/name`, an
 * https or ssh clone URL, or scp-like `git@host:owner/name.git`. Each form comes down to a host
 * and a path, so a webhook's URLs and a configured name can be compared.
 */
import { redactUrl } from '../git/index.js';
import { ErrorCodes, GitOpsError, invalidField } from '../runtime/index.js';

export interface RepositoryRef {
  /** `owner/name`, or `group/subgroup/name` on GitLab; never with `.git`. */
  path: string;
  /** Everything before the last segment (a user, an organisation or a group path). */
  owner: string;
  name: string;
  /** Lower-case host name without port, when the repository was given as a URL. */
  host?: string;
  /** `scheme://host[:port]` of the forge's web side: the URL's own for http(s), `https://host` otherwise. */
  webOrigin?: string;
}

// GitHub, GitLab and Gitea all allow these characters in owner, group and repository names.
const SEGMENT = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;
const MAX_SEGMENTS = 21;

/** What may be shown of caller text: short, without anything that looks like credentials. */
function shown(value: string): string {
  const safe = redactUrl(value);
  return JSON.stringify(safe.length > 120 ? `${safe.slice(0, 120)}…` : safe);
}

function splitPath(
  rawPath: string,
  input: string,
  field: string,
): Pick<RepositoryRef, 'path' | 'owner' | 'name'> {
  let path = rawPath.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path.endsWith('.git')) path = path.slice(0, -4);
  const segments = path.split('/');
  if (segments.length < 2 || segments.length > MAX_SEGMENTS) {
    throw invalidField(
      `${field} ${shown(input)} must name an owner and a repository, as in "owner/name"`,
      field,
    );
  }
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..' || segment.endsWith('.')) {
      throw invalidField(
        `${field} ${shown(input)} has an invalid path segment ${JSON.stringify(segment)}`,
        field,
      );
    }
  }
  const name = segments[segments.length - 1] ?? '';
  return { path, owner: segments.slice(0, -1).join('/'), name };
}

function decodePath(pathname: string, input: string, field: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch (cause) {
    throw new GitOpsError(ErrorCodes.Invalid, `${field} ${shown(input)} has a malformed path`, {
      details: { field },
      cause,
    });
  }
}

/** Parses a repository name or clone URL; throws Invalid with the reason. */
export function parseRepositoryRef(input: string, field = 'repository'): RepositoryRef {
  const text = input.trim();
  if (text === '') throw invalidField(`${field} is empty`, field);
  if ([...text].some((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) === 0x7f)) {
    throw invalidField(`${field} contains white space or a control character`, field);
  }

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    let url: URL;
    try {
      url = new URL(text);
    } catch (cause) {
      throw new GitOpsError(ErrorCodes.Invalid, `${field} is not a valid URL`, { details: { field }, cause });
    }
    const web = scheme === 'http' || scheme === 'https';
    if (!web && scheme !== 'ssh' && scheme !== 'git') {
      throw invalidField(`${field} uses the unsupported scheme "${scheme}"; give an https or ssh URL`, field);
    }
    // A user in an https URL is how tokens get pasted into remotes; refuse rather than keep it.
    if (url.password !== '' || (web && url.username !== '')) {
      throw invalidField(
        `${field} carries credentials in its URL; remove them and pass the token as options.token or through the environment`,
        field,
      );
    }
    const host = url.hostname.toLowerCase();
    if (host === '') throw invalidField(`${field} ${shown(text)} has no host`, field);
    const parts = splitPath(decodePath(url.pathname, text, field), text, field);
    const webOrigin = web ? `${scheme}://${url.host.toLowerCase()}` : `https://${host}`;
    return { ...parts, host, webOrigin };
  }

  // scp-like `[user@]host:path`: git reads it as ssh when the colon comes before any slash.
  const scp = /^(?:[^@/:]+@)?([^@/:]+):(.+)$/.exec(text);
  if (scp !== null) {
    const host = (scp[1] ?? '').toLowerCase();
    const parts = splitPath(scp[2] ?? '', text, field);
    return { ...parts, host, webOrigin: `https://${host}` };
  }

  return splitPath(text, text, field);
}

/** `host/path` in lower case (or just the path when no host is known): equal keys, same repository. */
export function repositoryKey(ref: RepositoryRef): string {
  return (ref.host === undefined ? ref.path : `${ref.host}/${ref.path}`).toLowerCase();
}

/** The key of a URL or name, or undefined when it does not parse as a repository. */
export function tryRepositoryKey(input: string): string | undefined {
  try {
    return repositoryKey(parseRepositoryRef(input));
  } catch {
    return undefined;
  }
}
