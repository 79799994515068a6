/**
 * Turns a failed git command into a typed GitOpsError by reading its stderr (git runs with
 * LC_ALL=C, so the messages are stable English). Every message and detail is scrubbed of
 * secrets before it leaves this module.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ErrorCode } from '../runtime/index.js';
import { scrubSecrets } from './credentials.js';

export interface GitFailure {
  /** The git subcommand, e.g. `fetch`. */
  command: string;
  args: readonly string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  secrets: readonly string[];
  cwd?: string;
}

interface Rule {
  code: ErrorCode;
  pattern: RegExp;
  hint: string;
}

// Order matters: the first rule that matches wins, and most failures end with the same
// "Could not read from remote repository" line.
const RULES: Rule[] = [
  {
    code: ErrorCodes.HostKeyMismatch,
    pattern:
      /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known for|Host key for .* has changed/i,
    hint: 'the SSH host key is unknown or has changed; add the server key to known_hosts if it is right',
  },
  {
    code: ErrorCodes.AuthFailed,
    pattern:
      /Authentication failed|Permission denied \(|could not read Username|could not read Password|terminal prompts disabled|Access denied|returned error: 40[13]|Invalid username or password|Load key .*: (?:invalid format|bad permissions)|incorrect passphrase/i,
    hint: 'the remote needs valid credentials; check the token, password or SSH key',
  },
  {
    code: ErrorCodes.Unreachable,
    pattern:
      /Connection refused|Could not resolve host|Could not resolve hostname|Couldn't connect to server|Failed to connect to|Connection timed out|Operation timed out|No route to host|Network is unreachable|unable to connect to|Connection reset by peer|Connection closed by|early EOF|The remote end hung up unexpectedly|HTTP request failed|remote error: .*unavailable|Empty reply from server|returned error: 50[234]/i,
    hint: 'the remote cannot be reached; check the URL and the network, the command can be retried',
  },
  {
    code: ErrorCodes.PushRejected,
    pattern:
      /\[rejected\]|\[remote rejected\]|non-fast-forward|\(stale info\)|\(fetch first\)|failed to push some refs/i,
    hint: 'the remote branch moved or refused the update; fetch, rebase or merge, and push again',
  },
  {
    code: ErrorCodes.NotFound,
    pattern:
      /couldn't find remote ref|Remote branch .* not found|does not appear to be a git repository|repository .* not found|repository '.*' does not exist|Repository not found|not a git repository|returned error: 404|unknown revision|bad revision|invalid object name|Needed a single revision|not a valid object name|pathspec .* did not match|invalid reference/i,
    hint: 'the repository, branch or revision does not exist',
  },
];

const MAX_STDERR = 4000;

/**
 * The most telling line of git's stderr: the line that gave the error its code, else the first
 * `fatal:`/`error:` line, else the last line.
 */
function summary(stderr: string, pattern: RegExp | undefined): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const telling =
    (pattern === undefined ? undefined : lines.find((l) => pattern.test(l))) ??
    lines.find((l) => /^(fatal|error):/.test(l)) ??
    lines.at(-1) ??
    '';
  return telling.replace(/^(fatal|error|remote): /, '');
}

export function classifyGitFailure(failure: GitFailure): GitOpsError {
  const stderr = scrubSecrets(failure.stderr, failure.secrets);
  const rule = RULES.find((r) => r.pattern.test(stderr));
  const code = rule?.code ?? ErrorCodes.GitError;
  const said = summary(stderr, rule?.pattern);
  const how = failure.signal !== null ? `was killed by ${failure.signal}` : `exited with ${failure.exitCode}`;
  const message =
    `git ${failure.command} ${how}` +
    (said === '' ? '' : `: ${said}`) +
    (rule === undefined ? '' : ` (${rule.hint})`);
  return new GitOpsError(code, scrubSecrets(message, failure.secrets), {
    details: {
      command: `git ${failure.command}`,
      args: failure.args.map((a) => scrubSecrets(a, failure.secrets)),
      exitCode: failure.exitCode,
      stderr: stderr.length > MAX_STDERR ? `${stderr.slice(0, MAX_STDERR)}…` : stderr,
      ...(failure.cwd === undefined ? {} : { file: failure.cwd }),
    },
  });
}
