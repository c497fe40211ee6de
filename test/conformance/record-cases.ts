/**
 * Re-records a conformance case file: `ip`'s outcome for every case, and burrow's for the documented
 * differences. Run after adding cases (`args` + `expect` are enough) and review the diff:
 *
 *   npx tsc -p . && node dist/test/conformance/record-cases.js [CASE-FILE]
 *
 * CASE-FILE is a file name in test/conformance (default tunnel-cases.json; link-cases.json holds the
 * `burrow link` and `burrow fdb` cases, whose oracle is `ip link` or `bridge fdb`; xfrm-cases.json the
 * `burrow xfrm` cases). A case may be written with `"expect": "auto"`: it becomes `daemon` when the
 * oracle got as far as the kernel (exit 0, or 2 for the kernel's refusal) and `same` when it refused it.
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
    if ((c.expect as string) === 'auto') c.expect = c.ip.exit === 0 || c.ip.exit === 2 ? 'daemon' : 'same';
    if (c.expect === 'differs') c.burrow = await runBurrow(c.args);
    else delete c.burrow;
  }),
);
cleanUp();
writeCases(file, target);
process.stdout.write(`recorded ${file.cases.length} cases against ${availability.version}\n`);
