/** How the CLI tells a person about problems: one line each, never a stack trace. */
import { flattenProblems, formatProblem, toGitOpsError } from '../runtime/index.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Prints every problem an error stands for as `file:line:column: code: message`. */
export function reportError(output: Output, err: unknown, file?: string): number {
  const problems = flattenProblems(toGitOpsError(err, 'IoError'));
  for (const problem of problems) {
    const details =
      file !== undefined && problem.details.file === undefined
        ? { ...problem.details, file }
        : problem.details;
    output.err(formatProblem({ code: problem.code, message: problem.message, details }));
  }
  return problems.length;
}

/**
 * 2 for a usage error (a flag's value refused before anything was done: an Invalid error whose
 * field is a flag), 1 for everything else that failed.
 */
export function exitCodeOf(err: unknown): number {
  const e = toGitOpsError(err, 'IoError');
  const field = e.details.field;
  return e.code === 'Invalid' && typeof field === 'string' && field.startsWith('-') ? 2 : 1;
}
