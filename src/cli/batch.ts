/**
 * `burrow [ -force ] -batch FILE`: many commands in one process, as `ip -batch` reads them (iproute2
 * 6.1 lib/utils.c, checked against the real `ip -batch` on Debian 12):
 *
 * - one command per line, without the program name and without global options (the ones given before
 *   `-batch` apply to every line; a line starting with `-s` is the unknown object "-s");
 * - `#` starts a comment anywhere on a line, even inside quotes; blank lines are skipped;
 * - a line ending in a backslash goes on with the next line, joined without a space; the command's
 *   line number is that of its last physical line; a backslash on the last line with nothing after it
 *   ends the batch with `Missing continuation line` (the exit status stays what it was);
 * - words are split on space, tab, CR and LF; a word starting with `'` or `"` runs to the same quote
 *   (no escapes inside), and a new word starts right after it; an unclosed quote is
 *   `Unterminated quoted string` and more than 511 words `Too many arguments to command`, both ending
 *   the batch with status 1;
 * - a command that fails prints `Command failed FILE:LINE` and ends the batch with status 1, unless
 *   `-force`, which goes on to the end and then exits 1; a command that iproute2 ends with `exit()`
 *   (usage, invalid arguments, an unparsable address) ends the whole batch with its own status, also
 *   with `-force` (see `endsBatch` in main.ts).
 *
 * FILE `-` is standard input. This module only reads the text; main.ts runs the commands.
 */

/** iproute2's MAX_ARGS: a line may hold 511 words. */
export const BATCH_MAX_WORDS = 511;

export type BatchEntry =
  /** A command: its words and the line number `Command failed` names. */
  | { kind: 'command'; args: string[]; line: number }
  /** A line iproute2 cannot split: it prints `message` and exits with status 1. */
  | { kind: 'fatal'; message: string }
  /** The input ended inside a continued line: `message` is printed and the batch ends. */
  | { kind: 'end'; message: string };

/** Physical lines as getline(3) returns them: each with its newline, the last one maybe without. */
function physicalLines(text: string): string[] {
  const lines: string[] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push(text.slice(at, end));
    at = end;
  }
  return lines;
}

function withoutComment(line: string): string {
  const hash = line.indexOf('#');
  return hash < 0 ? line : line.slice(0, hash);
}

const WHITESPACE = ' \t\r\n';

/** Splits one command line into words; a string when it cannot (the message). */
export function splitWords(line: string): string[] | string {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && WHITESPACE.includes(line[i])) i++;
    if (i >= line.length) break;
    if (words.length >= BATCH_MAX_WORDS) return 'Too many arguments to command';
    const c = line[i];
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      if (close < 0) return 'Unterminated quoted string';
      words.push(line.slice(i + 1, close));
      i = close + 1; // a new word starts right after the closing quote: `"l"o` is two words
      continue;
    }
    let end = i;
    while (end < line.length && !WHITESPACE.includes(line[end])) end++;
    words.push(line.slice(i, end));
    i = end + 1;
  }
  return words;
}

/** The commands of a batch file's text, in order; blank and comment lines are left out. */
export function* batchEntries(text: string): Generator<BatchEntry> {
  const lines = physicalLines(text);
  let next = 0;
  while (next < lines.length) {
    let line = withoutComment(lines[next++]);
    let number = next;
    while (line.endsWith('\\\n')) {
      if (next >= lines.length) {
        yield { kind: 'end', message: 'Missing continuation line' };
        return;
      }
      line = line.slice(0, -2) + withoutComment(lines[next++]);
      number = next;
    }
    const words = splitWords(line);
    if (typeof words === 'string') {
      yield { kind: 'fatal', message: words };
      return;
    }
    if (words.length > 0) yield { kind: 'command', args: words, line: number };
  }
}
