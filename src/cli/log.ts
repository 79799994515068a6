/** The CLI's JSON log lines: pino, ISO times, level names (as log pipelines expect), on stderr. */
import { pino } from 'pino';
import type { LogLevel } from './global.js';

export function cliLogger(component: string, level: LogLevel): pino.Logger {
  return pino(
    {
      level,
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination(2),
  );
}
