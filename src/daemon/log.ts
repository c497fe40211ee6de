/**
 * The daemon's log: one line per event on stderr (which the CLI points at the namespace's daemon.log),
 * `<ISO time> <level> <message>`. Made once by the daemon and passed down; nothing logs per packet.
 */

export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

export function streamLogger(write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const line = (level: string, message: string): void => write(`${now().toISOString()} ${level} ${message}\n`);
  return {
    info: (message) => line('info', message),
    error: (message) => line('error', message),
  };
}
