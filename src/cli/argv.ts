/**
 * The argument cursor every CLI parser walks, and iproute2's prefix rule.
 *
 * iproute2 walks `argv` with `NEXT_ARG()` (advance, or fail with "Command line is not complete") and
 * compares words either exactly (`strcmp`) or by prefix (`matches`). The cursor keeps that shape so a
 * parser here reads like the loop it mirrors, without global state or `exit()`.
 */
import { incompleteCommand } from './usage-errors.js';

/**
 * iproute2's `matches(word, keyword)`: true when `word` is a non-empty prefix of `keyword`
 * (`s`, `sh` and `show` all match `show`; the empty word matches nothing, as in iproute2 6.1).
 */
export function matches(word: string, keyword: string): boolean {
  return word.length > 0 && word.length <= keyword.length && keyword.startsWith(word);
}

export class ArgCursor {
  private index = 0;

  constructor(private readonly args: readonly string[]) {}

  /** Words not yet consumed. */
  get remaining(): number {
    return this.args.length - this.index;
  }

  get done(): boolean {
    return this.index >= this.args.length;
  }

  /** How many words have been consumed so far. */
  get position(): number {
    return this.index;
  }

  /** The current word without consuming it, or undefined at the end. */
  peek(offset = 0): string | undefined {
    return this.args[this.index + offset];
  }

  /** Consumes and returns the current word; undefined at the end. */
  next(): string | undefined {
    if (this.index >= this.args.length) return undefined;
    return this.args[this.index++];
  }

  /**
   * `NEXT_ARG()`: after a keyword was taken with `next()`, consumes and returns its value; throws
   * "Command line is not complete" when the keyword was the last word.
   */
  expect(): string {
    if (this.index >= this.args.length) throw incompleteCommand();
    return this.args[this.index++]!;
  }

  /** The words not yet consumed, as an array. */
  rest(): string[] {
    return this.args.slice(this.index);
  }
}
