import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { defaultTunnelParams } from '../tunnel/params.js';
import { emptyState, loadState, saveState } from './state.js';

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-state-')), 'state.json');
}

test('state: a change under way is kept across a save and a load, and a malformed one is dropped', () => {
  const file = tempFile();
  const state = emptyState();
  state.tunnels.push({ ...defaultTunnelParams(), name: 'g0', mode: 'gre', remote: 1 });
  state.pending = { op: 'add', name: 'g0' };
  saveState(file, state);
  const loaded = loadState(file, () => {});
  assert.deepEqual(loaded.pending, { op: 'add', name: 'g0' });
  assert.equal(loaded.tunnels[0].name, 'g0');
  fs.writeFileSync(file, JSON.stringify({ ...state, pending: { op: 'rename', name: 'g0' } }));
  assert.equal(loadState(file, () => {}).pending, undefined);
  delete state.pending;
  saveState(file, state);
  assert.equal(loadState(file, () => {}).pending, undefined);
  fs.rmSync(path.dirname(file), { recursive: true });
});
