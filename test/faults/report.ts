/**
 * The fault suite's records: every scenario appends one line of JSON to a file in the report directory
 * (BURROW_FAULT_REPORT, which `scripts/test faults` makes fresh for each run), and the summary (the
 * suite's last file) reads them all back. Test files run in separate processes, so a file is the only
 * place they meet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One scenario's outcome. */
export interface ScenarioRecord {
  group: string;
  name: string;
  passed: boolean;
  error?: string;
  /** Legitimate and bad packets (or commands) the scenario's generator sent, and what became of them. */
  sent: number;
  delivered: number;
  /** Losses by the reason that explains them: burrow drop reasons, or `kernel:<counter>` for the kernel's. */
  explained: Record<string, number>;
  /** sent - delivered - explained: must be 0. */
  unexplained: number;
  /** Bad packets, argument vectors and control requests tried. */
  badInputs: number;
  /** burrow drop reasons whose counters moved during the scenario. */
  reasons: string[];
  /** Daemons that died without being asked to, and internal errors (bug lines, CLI internal errors). */
  crashes: string[];
  /** fds, devices, routes, addresses, RSS that differ before and after. */
  leaks: string[];
  /** Time from the end of a fault to traffic flowing again, where the scenario measures it. */
  recoveryMs?: number;
  ms: number;
}

export const FAULT_SEED = Number(process.env.FAULT_SEED ?? 0x62757272) | 0;

export function reportDirectory(): string {
  return process.env.BURROW_FAULT_REPORT ?? path.join(os.tmpdir(), 'burrow-faults');
}

export function writeRecord(record: ScenarioRecord): void {
  const dir = reportDirectory();
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, `${process.pid}.jsonl`), JSON.stringify(record) + '\n');
}

export function readRecords(): ScenarioRecord[] {
  const dir = reportDirectory();
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return [];
  }
  const records: ScenarioRecord[] = [];
  for (const f of files.sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (line.trim() !== '') records.push(JSON.parse(line) as ScenarioRecord);
    }
  }
  return records;
}
