/**
 * `burrow link ...` against iproute2's `ip link ...` (vxlan), and `burrow fdb ...` against `bridge fdb
 * ...`, case by case (test/conformance/link-cases.json), as tunnel-errors.test.ts does for `ip tunnel`.
 *
 * - same: stdout, stderr (program name substituted) and exit status identical to the oracle's.
 * - daemon: valid input. The oracle, run in a fresh network namespace, gets as far as the kernel (a
 *   real vxlan device is made there and goes with the namespace); burrow, with no daemon, must get as far
 *   as the daemon: its stderr is the oracle's warnings (if any) and then the daemon line.
 * - differs: a documented difference (docs/cli-differences.md); burrow must print what the file says.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import { DAEMON_STAGE, LINK_CASE_FILE, checkCase, cleanUp, ipAvailability, readCases, type ConformanceCase } from './harness.js';

const file = readCases(LINK_CASE_FILE);
const availability = ipAvailability();
const title = (c: ConformanceCase) => `${c.expect}: ${c.program ?? 'ip'} ${JSON.stringify(c.args)}`;

describe('burrow link and fdb conform to ip link and bridge fdb', { concurrency: os.availableParallelism() }, () => {
  after(cleanUp);

  it('has error cases for every part of the grammar', () => {
    const errors = file.cases.filter((c) => c.expect === 'same' && (c.ip?.exit ?? 0) !== 0);
    assert.ok(errors.filter((c) => (c.program ?? 'ip') === 'ip').length >= 80, 'ip link cases');
    assert.ok(errors.filter((c) => c.program === 'bridge').length >= 25, 'bridge fdb cases');
  });

  for (const c of file.cases) {
    it(title(c), (t) =>
      checkCase(c, file, availability, t, {
        reachedDaemon: (burrow, recorded) => {
          assert.equal(burrow.stdout, '');
          const at = burrow.stderr.lastIndexOf(DAEMON_STAGE);
          assert.ok(at >= 0 && burrow.stderr.indexOf('\n', at) === burrow.stderr.length - 1, `did not reach the daemon stage: ${JSON.stringify(burrow.stderr)}`);
          const warnings = recorded.stderr.split('\n').filter((l) => !/^(Error|RTNETLINK)/.test(l)).join('\n');
          assert.equal(burrow.stderr.slice(0, at), warnings, 'warnings as the oracle printed them');
          assert.equal(burrow.exit, 1);
        },
        // What the kernel answers depends on the devices there (lo only); only check the parser took it.
        oracleTook: (oracle) => oracle.exit === 0 || /^(Error: |RTNETLINK answers: )/m.test(oracle.stderr),
      }),
    );
  }
});
