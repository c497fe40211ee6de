/**
 * What every wire view shares: the range it looks at and `reset()` to move it to the next packet.
 * Each protocol's view extends this and adds `check()` and its fields (index.ts has the contract).
 */

const EMPTY = new Uint8Array(0);

export class WireView {
  bytes: Uint8Array = EMPTY;
  offset = 0;
  length = 0;

  /** With no arguments the view is empty (and `check()` says truncated) until `reset()`. */
  constructor(bytes?: Uint8Array, offset = 0, length?: number) {
    if (bytes !== undefined) this.reset(bytes, offset, length);
  }

  /** Points the view at `bytes[offset .. offset+length)` (default: to the end); returns the view. */
  reset(bytes: Uint8Array, offset = 0, length = bytes.length - offset): this {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    return this;
  }

  /**
   * The first half of every length gate: the range holds at least `minimum` bytes and lies inside
   * `bytes` (a view claiming more than its buffer holds is truncated, never read past the end).
   */
  protected holds(minimum: number): boolean {
    return this.length >= minimum && this.offset >= 0 && this.offset + this.length <= this.bytes.length;
  }
}
