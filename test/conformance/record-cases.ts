/**
 * Re-records test/conformance/tunnel-cases.json: `ip`'s outcome for every case, and burrow's for the
 * documented differences. Run after adding cases (`args` + `expect` are enough) and review the diff:
 *
 *   npx tsc -p . && node dist/test/conformance/record-cases.js [CASE-FILE]
 *
 * CASE-FILE is a file name in test/conformance (default tunnel-cases.json; link-cases.json holds the
 * `burrow link` and `burrow fdb` cases, whose oracle is `ip link` or `bridge fdb`).
 */
import path from 'node:path';
import { CASE_FILE, cleanUp, ipAvailability, readCases, ROOT, runBurrow, runIp, writeCases } from './harness.js';

const availability = ipAvailability();
if (!availability.ip) {
  process.stderr.write('record-cases: needs iproute2 (`ip`)\n');
  process.exit(1);
}
const target = process.argv[2] === undefined ? CASE_FILE : path.join(ROOT, 'test', 'conformance', process.argv[2]);
const file = readCases(target);
file.iproute2 = availability.version;
await Promise.all(
  file.cases.map(async (c) => {
    c.ip = await runIp(c.args, availability.netns, c.program ?? 'ip');
    if (c.expect === 'differs') c.burrow = await runBurrow(c.args);
    else delete c.burrow;
  }),
);
cleanUp();
writeCases(file, target);
process.stdout.write(`recorded ${file.cases.length} cases against ${availability.version}\n`);
