import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireView } from './view.js';

class Probe extends WireView {
  has(minimum: number): boolean {
    return this.holds(minimum);
  }
}

test('view: reset defaults to the rest of the buffer and returns the view', () => {
  const bytes = new Uint8Array(10);
  const view = new Probe();
  assert.equal(view.length, 0);
  assert.equal(view.has(1), false);
  assert.equal(view.reset(bytes, 3), view);
  assert.equal(view.offset, 3);
  assert.equal(view.length, 7);
  view.reset(bytes, 2, 4);
  assert.equal(view.length, 4);
  assert.equal(new Probe(bytes).length, 10);
  assert.equal(new Probe(bytes, 4, 2).offset, 4);
});

test('view: holds() is the length gate, against the view and the buffer', () => {
  const bytes = new Uint8Array(10);
  assert.equal(new Probe(bytes, 2, 8).has(8), true);
  assert.equal(new Probe(bytes, 2, 8).has(9), false);
  assert.equal(new Probe(bytes, 3, 8).has(8), false, 'runs past the buffer');
  assert.equal(new Probe(bytes, -1, 4).has(4), false, 'negative offset');
  assert.equal(new Probe(bytes, 10, 0).has(0), true, 'an empty range at the end');
  assert.equal(new Probe(Buffer.alloc(4)).has(4), true, 'a Buffer is a Uint8Array');
});
