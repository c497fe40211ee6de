/**
 * Last-resort cleanup for the interop tests: synchronous undo actions that run on every way out of
 * the test process (normal exit, uncaught exception, SIGINT, SIGTERM, SIGHUP).
 *
 * Each resource (a qemu process, a tap, a namespace, a temp directory) registers one action when it
 * is made and unregisters it when it is released in the ordinary way. Actions run newest first, so a
 * tap inside a namespace goes before the namespace. They must be synchronous: the 'exit' event allows
 * nothing else. A SIGKILL of the test process cannot be caught; qemu is started with a parent-death
 * signal for that case (see kernel-peer.ts), and namespaces carry the `bwq` prefix so they can be
 * found by hand.
 */

type Action = { name: string; run: () => void };

const actions = new Map<number, Action>();
let nextId = 1;
let installed = false;
let running = false;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function runAll(): void {
  if (running) return;
  running = true;
  try {
    const ids = [...actions.keys()].sort((a, b) => b - a);
    for (const id of ids) {
      const action = actions.get(id);
      actions.delete(id);
      if (action === undefined) continue;
      try {
        action.run();
      } catch (err) {
        process.stderr.write(`interop cleanup: ${action.name}: ${(err as Error).message}\n`);
      }
    }
  } finally {
    running = false;
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // Die of the same signal, as if no handler were installed, so the parent sees the real cause.
  for (const s of SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

/** Registers a synchronous undo action; returns a function that forgets it (without running it). */
export function registerCleanup(name: string, run: () => void): () => void {
  install();
  const id = nextId++;
  actions.set(id, { name, run });
  return () => {
    actions.delete(id);
  };
}

/** How many undo actions are pending (tests use it to check that everything was released). */
export function pendingCleanups(): string[] {
  return [...actions.values()].map((a) => a.name);
}
