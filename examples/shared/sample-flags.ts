/**
 * Command-line flags of the samples (node:util parseArgs), with the port and host every sample
 * takes. A bad flag ends the process with a message saying which one.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export const SERVER_FLAGS: Options = {
  port: { type: 'string', default: '8888' },
  host: { type: 'string', default: '127.0.0.1' },
  help: { type: 'boolean', default: false },
};

export interface Flags {
  /** The flag's text, or undefined when not given and without default. */
  text(name: string): string | undefined;
  /** The flag's text; exits with a message when it is missing. */
  required(name: string): string;
  flag(name: string): boolean;
  /** The port flag (0 picks a free port). */
  port(): number;
}

function fail(message: string, usage: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

/** Parses argv; prints `usage` and exits on --help or on a flag it does not know. */
export function parseFlags(options: Options, usage: string, argv = process.argv.slice(2)): Flags {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: { ...SERVER_FLAGS, ...options },
      allowPositionals: false,
    }).values;
  } catch (error) {
    fail((error as Error).message, usage);
  }
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return {
    text,
    required: (name) => text(name) ?? fail(`--${name} is required`, usage),
    flag: (name) => values[name] === true,
    port: () => {
      const port = Number(text('port') ?? '8888');
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        fail(`--port must be a number from 0 to 65535, not ${JSON.stringify(text('port'))}`, usage);
      }
      return port;
    },
  };
}
