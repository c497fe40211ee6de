/**
 * Re-records a conformance case file: `ip`'s outcome for every case, and burrow's for the documented
 * differences. Run after adding cases (`args` + `expect` are enough) and review the diff:
 *
 *   npx tsc -p . && node dist/test/conformance/record-cases.js          # tunnel-cases.json
 *   npx tsc -p . && node dist/test/conformance/record-cases.js xfrm     # xfrm-cases.json
 *
 * In xfrm-cases.json a case may be written with `"expect": "auto"`: it becomes `daemon` when `ip` got
 * as far as the kernel (exit 0, or 2 for the kernel's refusal) and `same` when `ip` refused it itself.
 */
import { CASE_FILE, XFRM_CASE_FILE, cleanUp, ipAvailability, readCases, runBurrow, runIp, writeCases } from './harness.js';

const availability = ipAvailability();
if (!availability.ip) {
  process.stderr.write('record-cases: needs iproute2 (`ip`)\n');
  process.exit(1);
}
const target = process.argv[2] === 'xfrm' ? XFRM_CASE_FILE : CASE_FILE;
const file = readCases(target);
file.iproute2 = availability.version;
await Promise.all(
  file.cases.map(async (c) => {
    c.ip = await runIp(c.args, availability.netns);
    if ((c.expect as string) === 'auto') c.expect = c.ip.exit === 0 || c.ip.exit === 2 ? 'daemon' : 'same';
    if (c.expect === 'differs') c.burrow = await runBurrow(c.args);
    else delete c.burrow;
  }),
);
cleanUp();
writeCases(file, target);
process.stdout.write(`recorded ${file.cases.length} cases against ${availability.version}\n`);
