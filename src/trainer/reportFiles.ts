// Writes an experiment report: report.md and, beside it, one SVG figure per metric it links to (relative
// paths, named after the report: report-loss.svg, report-accuracy.svg). Shared by `laurel compare --seeds`,
// the extension's Compare and the panel's Export report.md, so all three write the same files.
import { basename, dirname, join } from 'node:path';
import type { ComparisonRecord } from '../protocol/runRecords';
import { writeFileAtomic } from '../util/fsAtomic';
import { seedCurvesSvg } from './seedCurves';
import type { CurveMetric } from './seedCurves';
import { seedReport } from './seedSummary';
import type { ReportImage } from './seedSummary';

/** Writes the figures, then report.md (so it never links to a figure that is not there); returns every path written. */
export function writeSeedReport(path: string, records: readonly ComparisonRecord[]): string[] {
  const dir = dirname(path);
  const stem = basename(path).replace(/\.md$/i, '');
  const seeds = records.length;
  const images: ReportImage[] = [];
  const written: string[] = [];
  for (const metric of ['loss', 'accuracy'] as CurveMetric[]) {
    const svg = seedCurvesSvg(records, metric);
    if (!svg) continue;
    const file = `${stem}-${metric}.svg`;
    writeFileAtomic(join(dir, file), svg);
    written.push(join(dir, file));
    images.push({ file, alt: seeds > 1 ? `${metric} per epoch: per plan mean over ${seeds} seeds, ± 1 std band` : `${metric} per epoch, one seed` });
  }
  writeFileAtomic(path, seedReport(records, images) + '\n');
  return [...written, path];
}
