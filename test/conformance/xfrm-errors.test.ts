/**
 * `burrow xfrm ...` against iproute2's `ip xfrm ...`, case by case (test/conformance/xfrm-cases.json).
 *
 * - same: stdout, stderr (program name substituted) and exit status must be identical to ip's.
 * - daemon: valid input. ip gets as far as the kernel (exit 0, or 2 with the kernel's refusal); burrow,
 *   with no daemon to talk to, must get as far as the daemon: every parse error comes first.
 * - differs: a documented difference (docs/cli-differences.md); burrow must print what the file says.
 *
 * Each case also runs through the real `ip` (in a throwaway network namespace), to catch a recorded
 * expectation that no longer matches the iproute2 of the machine. Re-record with
 * `node dist/test/conformance/record-cases.js xfrm`.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import { XFRM_CASE_FILE, checkCase, cleanUp, reachedDaemonStage, ipAvailability, readCases, type ConformanceCase } from './harness.js';

const file = readCases(XFRM_CASE_FILE);
const availability = ipAvailability();
const title = (c: ConformanceCase) => `${c.expect}: ${JSON.stringify(c.args)}`;

describe('burrow xfrm conforms to ip xfrm', { concurrency: os.availableParallelism() }, () => {
  after(cleanUp);

  it('has error cases for each command', () => {
    const errors = file.cases.filter((c) => c.expect === 'same' && (c.ip?.exit ?? 0) !== 0);
    assert.ok(errors.length >= 150, `only ${errors.length} error cases`);
    for (const command of ['state add', 'state get', 'state delete', 'state list', 'state flush', 'policy add', 'policy get', 'policy delete', 'policy list', 'policy flush']) {
      const [object, verb] = command.split(' ');
      assert.ok(
        errors.some((c) => c.args.includes(object!) && c.args.some((a) => verb!.startsWith(a) && a.length > 0)),
        `no error case for ${command}`,
      );
    }
  });

  for (const c of file.cases) {
    it(title(c), (t) =>
      // What the kernel answers depends on its modules (exit 2 is its refusal); only check ip got past its parser.
      checkCase(c, file, availability, t, {
        reachedDaemon: reachedDaemonStage,
        oracleTook: (ip) => ip.exit === 0 || ip.exit === 2,
      }),
    );
  }
});
