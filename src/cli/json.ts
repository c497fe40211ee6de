/**
 * A streaming JSON writer that lays out output exactly as iproute2's lib/json_writer.c does.
 *
 * Compact: `[{"a":1,"b":[]}]`. Pretty (`-p`): four spaces per level, a property per line, arrays kept on
 * one line with a space inside the brackets (`"flags": [ "rx_csum","tx_seq" ]`, `[ ]` when empty), and
 * the closing bracket of an array right after its last element (`    } ]`). Keys are written in call
 * order and may repeat, as iproute2's do (`pdr` for each ISATAP router).
 */

export class JsonWriter {
  private out = '';
  private depth = 0;
  /** iproute2's `sep`: ',' once the current container has an element. */
  private separator = false;

  constructor(private readonly pretty: boolean) {}

  private endOfRecord(): void {
    if (this.separator) this.out += ',';
    this.separator = true;
  }

  private endOfLine(): void {
    if (!this.pretty) return;
    this.out += '\n' + '    '.repeat(this.depth);
  }

  private begin(ch: '{' | '['): void {
    this.endOfRecord();
    this.out += ch;
    this.depth++;
    this.separator = false;
  }

  private end(ch: '}' | ']'): void {
    this.depth--;
    if (this.separator) this.endOfLine();
    this.out += ch;
    this.separator = true;
  }

  name(key: string): this {
    this.endOfRecord();
    this.endOfLine();
    this.separator = false;
    this.out += quote(key) + (this.pretty ? ': ' : ':');
    return this;
  }

  startObject(): this {
    this.begin('{');
    return this;
  }

  endObject(): this {
    this.end('}');
    return this;
  }

  startArray(): this {
    this.begin('[');
    if (this.pretty) this.out += ' ';
    return this;
  }

  endArray(): this {
    if (this.pretty && this.separator) this.out += ' ';
    this.separator = false;
    this.end(']');
    return this;
  }

  string(value: string): this {
    this.endOfRecord();
    this.out += quote(value);
    return this;
  }

  number(value: number | bigint): this {
    this.endOfRecord();
    this.out += String(value);
    return this;
  }

  bool(value: boolean): this {
    this.endOfRecord();
    this.out += value ? 'true' : 'false';
    return this;
  }

  null(): this {
    this.endOfRecord();
    this.out += 'null';
    return this;
  }

  /** Text outside the JSON grammar's bookkeeping (iproute2 writes to the same stream with fputc). */
  raw(text: string): this {
    this.out += text;
    return this;
  }

  /** The text so far, with the newline `jsonw_destroy` writes. */
  finish(): string {
    return this.out + '\n';
  }
}

/** `jsonw_puts`; other control characters are escaped too, so names cannot break the JSON. */
function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    switch (ch) {
      case '\t':
        out += '\\t';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      default:
        out += ch < ' ' ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
    }
  }
  return out + '"';
}
