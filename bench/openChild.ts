/**
 * One model opened in a process of its own, so that its peak memory cannot leak into another
 * measurement: `node dist/benchOpen.js FILE` prints {ms, maxRssMb, heapUsedMb, residuals} as JSON.
 * maxRssMb is the whole process (Node itself included), as `laurel inspect` would use.
 */
import { readFileSync } from 'node:fs';
import { inspectReport, openModel } from '../src/core/model';

const file = process.argv[2];
if (!file) throw new Error('usage: benchOpen FILE');
const bytes = readFileSync(file);
const t0 = performance.now();
const report = inspectReport(openModel(file, bytes));
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20, residuals: report.residuals.length }));
