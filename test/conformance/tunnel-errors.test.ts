/**
 * `burrow tunnel ...` against iproute2's `ip tunnel ...`, case by case (test/conformance/tunnel-cases.json).
 *
 * - same: stdout, stderr (program name substituted) and exit status must be identical to ip's.
 * - daemon: valid input. ip gets as far as the kernel (here: No such device); burrow, with no daemon to
 *   talk to, must get as far as the daemon: every parse error comes first, as in iproute2.
 * - differs: a documented difference (docs/cli-differences.md); burrow must print what the file says.
 *
 * Each case is also run through the real `ip`, to catch a recorded expectation that no longer matches
 * the iproute2 on the machine. Re-record with dist/test/conformance/record-cases.js.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import { checkCase, cleanUp, reachedDaemonStage, ipAvailability, readCases, type ConformanceCase } from './harness.js';

const file = readCases();
const availability = ipAvailability();
const title = (c: ConformanceCase) => `${c.expect}: ${JSON.stringify(c.args)}`;

describe('burrow tunnel conforms to ip tunnel', { concurrency: os.availableParallelism() }, () => {
  after(cleanUp);

  it('has the cases the spec asks for', () => {
    const errors = file.cases.filter((c) => c.expect === 'same' && (c.ip?.exit ?? 0) !== 0);
    assert.ok(errors.length >= 80, `only ${errors.length} error cases`);
  });

  for (const c of file.cases) {
    it(title(c), (t) =>
      checkCase(c, file, availability, t, {
        reachedDaemon: reachedDaemonStage,
        // What the kernel answers depends on its drivers; only check ip got past its parser.
        oracleTook: (ip) => ip.exit === 0 || (ip.exit === 1 && /failed: /.test(ip.stderr)),
      }),
    );
  }
});
