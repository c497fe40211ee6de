import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchEntries, splitWords, type BatchEntry } from './batch.js';

const entries = (text: string): BatchEntry[] => [...batchEntries(text)];
const command = (line: number, ...args: string[]): BatchEntry => ({ kind: 'command', args, line });

// Each expectation was checked against `ip -batch` (iproute2 6.1, Debian 12).
describe('batch files are read as ip -batch reads them', () => {
  it('skips blank and comment lines, and numbers physical lines', () => {
    assert.deepEqual(entries('# c\nlink show lo\n\n   \nlink show x # trailing\n'), [
      command(2, 'link', 'show', 'lo'),
      command(5, 'link', 'show', 'x'),
    ]);
  });

  it('joins a continued line without a space and reports its last line', () => {
    assert.deepEqual(entries('link show \\\n  nosuch\nlink sh\\\now lo\n'), [
      command(2, 'link', 'show', 'nosuch'),
      command(4, 'link', 'show', 'lo'),
    ]);
  });

  it('does not continue a line whose backslash is inside a comment, nor one without its newline', () => {
    assert.deepEqual(entries('a # b \\\nc\n'), [command(1, 'a'), command(2, 'c')]);
    assert.deepEqual(entries('link show lo \\'), [command(1, 'link', 'show', 'lo', '\\')]);
  });

  it('ends at a continuation with no next line', () => {
    assert.deepEqual(entries('link show nosuch\nlink show lo \\\n'), [
      command(1, 'link', 'show', 'nosuch'),
      { kind: 'end', message: 'Missing continuation line' },
    ]);
  });

  it('takes quoted words up to the same quote, with a new word right after', () => {
    assert.deepEqual(splitWords(`link show "lo" 'a b' "l"o ""`), ['link', 'show', 'lo', 'a b', 'l', 'o', '']);
    assert.deepEqual(splitWords('a\\ b\tc\r\n'), ['a\\', 'b', 'c']);
    assert.equal(splitWords('link show "lo'), 'Unterminated quoted string');
  });

  it('takes 511 words and no more', () => {
    assert.equal((splitWords(Array(511).fill('x').join(' ')) as string[]).length, 511);
    assert.equal(splitWords(Array(512).fill('x').join(' ')), 'Too many arguments to command');
  });

  it('stops at a line it cannot split', () => {
    assert.deepEqual(entries('a\nb "c\nd\n'), [command(1, 'a'), { kind: 'fatal', message: 'Unterminated quoted string' }]);
  });

  it('reads nothing from an empty file', () => {
    assert.deepEqual(entries(''), []);
  });
});
