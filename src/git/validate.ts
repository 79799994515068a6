/**
 * Checks on every piece of caller text before it reaches git: ref names (the rules of
 * `git check-ref-format`), revisions, repository paths, remote URLs, refspecs and partial-clone
 * filters. Anything that git could read as an option (a leading `-`) is refused here, so no
 * caller text ever becomes a git option even where `--` cannot be used.
 */
import { ErrorCodes, GitOpsError, redactUrlSecrets } from '../runtime/index.js';

function invalid(message: string, field: string, value: string): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, message, { details: { field, value: printable(value) } });
}

/** The value as it may appear in an error: control characters escaped, length capped. */
function printable(value: string): string {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return JSON.stringify(shown);
}

// Characters that git refuses anywhere in a ref name (check-ref-format rules 4 and 5).
const FORBIDDEN_REF_CHARS = /[ ~^:?*[\\]/;

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Why `name` is not a valid full or short ref name, or undefined when it is. */
export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name === '@') return 'is "@"';
  if (FORBIDDEN_REF_CHARS.test(name) || hasControlCharacter(name))
    return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.startsWith('/') || name.endsWith('/')) return 'starts or ends with "/"';
  if (name.includes('//')) return 'contains "//"';
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return 'has a component starting with "."';
    if (component.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  return undefined;
}

/** Throws Invalid unless `name` is a ref name git accepts (branch, tag or full ref). */
export function assertRefName(name: string, field = 'ref'): string {
  const problem = refNameProblem(name);
  if (problem !== undefined) {
    throw invalid(`invalid ${field} name ${printable(name)}: it ${problem}`, field, name);
  }
  return name;
}

/** A branch name: a valid ref name that is not a full ref and not HEAD. */
export function assertBranchName(name: string, field = 'branch'): string {
  assertRefName(name, field);
  if (name === 'HEAD' || name.startsWith('refs/')) {
    throw invalid(`invalid ${field} name ${printable(name)}: give the short branch name`, field, name);
  }
  return name;
}

const OBJECT_ID = /^[0-9a-f]{4,64}$/;
// A ref or object id followed by ancestry steps such as `~2` or `^` or `^2`, nothing else.
const REVISION = /^(?<base>[^~^]+)(?<steps>(?:~\d*|\^\d*)*)$/;

export function isObjectId(value: string): boolean {
  return OBJECT_ID.test(value);
}

/**
 * A revision: an object id, a ref name, or either followed by `~n` / `^n` steps. The range,
 * reflog and search syntaxes (`a..b`, `@{1}`, `:/text`) are refused on purpose.
 */
export function assertRevision(rev: string, field = 'revision'): string {
  const match = REVISION.exec(rev);
  const base = match?.groups?.base;
  if (base === undefined) throw invalid(`invalid ${field} ${printable(rev)}`, field, rev);
  if (isObjectId(base)) return rev;
  const problem = refNameProblem(base);
  if (problem !== undefined) throw invalid(`invalid ${field} ${printable(rev)}: it ${problem}`, field, rev);
  return rev;
}

/**
 * A path inside the repository, as git names it: relative, `/`-separated, no `.` or `..`
 * component, no NUL or newline (the cat-file protocol is line based). Returns it normalised
 * (no leading `./`, no trailing `/`); the empty string stands for the root.
 */
export function normalizeRepoPath(path: string, field = 'path'): string {
  if (/[\0\n\r]/.test(path)) throw invalid(`${field} contains a NUL or line break`, field, path);
  if (path.startsWith('/'))
    throw invalid(`${field} ${printable(path)} must be relative to the repository`, field, path);
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.some((part) => part === '..')) {
    throw invalid(`${field} ${printable(path)} leaves the repository`, field, path);
  }
  const normal = parts.join('/');
  if (normal === '.git' || normal.startsWith('.git/')) {
    throw invalid(`${field} ${printable(path)} is inside .git`, field, path);
  }
  return normal;
}

/** A remote name such as `origin`. */
export function assertRemoteName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || refNameProblem(name) !== undefined) {
    throw invalid(`invalid remote name ${printable(name)}`, 'remote', name);
  }
  return name;
}

export type RemoteUrlKind = 'ssh' | 'https' | 'http' | 'git' | 'file';

export interface ParsedRemoteUrl {
  kind: RemoteUrlKind;
  /** The URL as given (a local path is kept as a path). */
  url: string;
  /** `scheme://host[:port]` for http(s), used to scope credentials; undefined otherwise. */
  origin?: string;
  host?: string;
}

/**
 * Checks a remote URL: https, http, ssh (also `user@host:path`), git, file, or an absolute
 * local path. Refuses remote helpers (`ext::`, `fd::`), a leading `-` anywhere git or ssh might
 * read it as an option, and passwords inside the URL (they would be stored in .git/config).
 */
export function parseRemoteUrl(url: string, field = 'url'): ParsedRemoteUrl {
  if (url.length === 0) throw invalid(`${field} is empty`, field, url);
  if (/[\0\n\r]/.test(url)) throw invalid(`${field} contains a NUL or line break`, field, url);
  if (url.startsWith('-')) throw invalid(`${field} must not start with "-"`, field, url);
  if (url.startsWith('/')) return { kind: 'file', url };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new GitOpsError(ErrorCodes.Invalid, `${field} is not a valid URL`, { details: { field }, cause });
    }
    if (parsed.password !== '') {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `${field} contains a password; pass it as credentials instead so it is never stored in .git/config`,
        { details: { field } },
      );
    }
    // A user part of an HTTP URL is stored in .git/config and shown by git; it is often a token.
    if ((scheme === 'https' || scheme === 'http') && parsed.username !== '') {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `${field} carries a user name (or token) before the host; pass it as credentials instead so ` +
          'it is never stored in .git/config',
        { details: { field } },
      );
    }
    if (parsed.hostname.startsWith('-') || parsed.username.startsWith('-')) {
      throw invalid(`${field} has a host or user starting with "-"`, field, redactUrl(url));
    }
    switch (scheme) {
      case 'https':
      case 'http':
        return { kind: scheme, url, origin: `${scheme}://${parsed.host}`, host: parsed.hostname };
      case 'ssh':
      case 'git':
        return { kind: scheme, url, host: parsed.hostname };
      case 'file':
        return { kind: 'file', url };
      default:
        throw invalid(`${field} uses the unsupported scheme "${scheme}"`, field, redactUrl(url));
    }
  }
  if (url.includes('::')) throw invalid(`${field} names a remote helper, which is not allowed`, field, url);
  // `user:password@host:path` is no SSH host `user`: refused, and the password is never shown.
  if (/^[^/@:]*:[^/@]*@[^/@:]+:/.test(url)) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `${field} carries a password before the host (user:password@host:path); use an SSH key or ` +
        'an https URL with credentials passed separately',
      { details: { field } },
    );
  }
  // scp-like `[user@]host:path`, which git treats as ssh when the colon comes before any slash.
  const scp = /^(?:([^@/:]+)@)?([^@/:]+):(.*)$/.exec(url);
  if (scp !== null) {
    const [, user, host] = scp;
    if ((user ?? '').startsWith('-') || (host ?? '').startsWith('-')) {
      throw invalid(`${field} has a host or user starting with "-"`, field, url);
    }
    return { kind: 'ssh', url, host };
  }
  throw invalid(`${field} ${printable(url)} is neither a URL nor an absolute path`, field, url);
}

/** The URL without any user information, query values or fragment, safe to show. */
export function redactUrl(url: string): string {
  return redactUrlSecrets(url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, '$1'));
}

/**
 * A refspec for fetch or push: `[+]<src>[:<dst>]`, where src may be a revision (push) or empty
 * (push deletes `dst`), and dst is a full or short ref name.
 */
export function assertRefspec(refspec: string, field = 'refspec'): string {
  const body = refspec.startsWith('+') ? refspec.slice(1) : refspec;
  const colon = body.indexOf(':');
  const src = colon === -1 ? body : body.slice(0, colon);
  const dst = colon === -1 ? undefined : body.slice(colon + 1);
  if (src === '' && (dst === undefined || dst === '')) throw invalid(`${field} is empty`, field, refspec);
  if (src !== '') assertRevision(src, field);
  if (dst !== undefined) assertRefName(dst, field);
  return refspec;
}

/** A partial-clone filter git understands: `blob:none`, `blob:limit=<n>[kmg]`, `tree:<depth>`. */
export function assertFilter(filter: string): string {
  if (!/^(?:blob:none|blob:limit=\d+[kmg]?|tree:\d+)$/.test(filter)) {
    throw invalid(`unsupported partial-clone filter ${printable(filter)}`, 'filter', filter);
  }
  return filter;
}

/** An author or committer identity; git itself refuses `<`, `>` and line breaks. */
export function assertIdentity(identity: { name: string; email: string }, field: string): void {
  for (const [part, value] of [
    ['name', identity.name],
    ['email', identity.email],
  ] as const) {
    if (value.trim() === '' || /[<>\0\n\r]/.test(value)) {
      throw invalid(`${field} ${part} is empty or contains <, > or a line break`, `${field}.${part}`, value);
    }
  }
}
