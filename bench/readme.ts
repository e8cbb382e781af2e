// `npm run bench -- --readme`: the README's benchmark tables are this run's, not copied by hand. Each table a
// section prints is kept under its README block (`<!-- bench:NAME -->` … `<!-- /bench:NAME -->`), and at the
// end every block this run filled is replaced by its tables as Markdown, stamped with the date, the cores and the
// load average, in one atomic write (a missing block refuses the whole update, so nothing is half-replaced).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { mdTable } from '../src/report/markdown';
import { renderTable } from '../src/report/table';
import type { Table } from '../src/report/table';
import { writeFileAtomic } from '../src/util/fsAtomic';

const printed = new Map<string, Table[]>();

/** The machine's memory latency (memoryLatency.ts) at the start and the end of a run: what was measured, and both figures. */
export interface MachineLatency {
  what: string;
  start: string;
  end: string;
}
const loadAtStart = loadavg()[0]!;

/** The table as terminal text, kept for README block `block`. */
export function benchTable(block: string, header: string[], rows: string[][], right: Set<number> = new Set()): string {
  printed.set(block, [...(printed.get(block) ?? []), { header, rows, right }]);
  return renderTable(header, rows, right);
}

/**
 * What the stamp says of the run: when, on how many cores, at what load (1-minute average at start and end),
 * and, where given, the machine's memory latency at the start and the end (memoryLatency.ts).
 */
export function runStamp(command: string, now = new Date(), latency?: MachineLatency): string {
  const memory = latency ? `; ${latency.what}: ${latency.start} at the start, ${latency.end} at the end` : '';
  return `${command}, ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end${memory}`;
}

/** Replaces README `text`'s blocks with `tables` (block → tables), each under `stamp`; throws on a missing block. */
export function fillBlocks(text: string, tables: ReadonlyMap<string, readonly Table[]>, stamp: string): string {
  let out = text;
  for (const [block, list] of tables) {
    const open = `<!-- bench:${block} -->`;
    const close = `<!-- /bench:${block} -->`;
    const a = out.indexOf(open);
    const b = out.indexOf(close, a);
    if (a < 0 || b < 0) throw new Error(`README.md has no ${open} … ${close} block: nothing written`);
    const body = [`Run: ${stamp}.`, '', ...list.map(mdTable).join('\n\n').split('\n')].join('\n');
    out = `${out.slice(0, a + open.length)}\n${body}\n${out.slice(b)}`;
  }
  return out;
}

/** Writes this run's tables into the README at `path`; returns the blocks replaced. */
export function updateReadme(path: string, command: string, latency?: MachineLatency): string[] {
  const text = readFileSync(path, 'utf8');
  writeFileAtomic(path, fillBlocks(text, printed, runStamp(command, new Date(), latency)));
  return [...printed.keys()];
}
