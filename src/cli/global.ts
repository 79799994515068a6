/** The options every command takes, as kubectl has them, and their checks. */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  logLevel: LogLevel;
}

// A namespace is a DNS label, as the API server checks it.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why `value` cannot be a namespace, or undefined when it can. */
export function checkNamespace(value: string): string | undefined {
  return DNS_LABEL.test(value)
    ? undefined
    : `"${value}" is not a namespace name (1-63 lower-case letters, digits and "-", starting and ending with a letter or digit).`;
}

/** True when a line of `level` is written at the chosen `threshold`. */
export function logs(threshold: LogLevel, level: Exclude<LogLevel, 'silent'>): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}
