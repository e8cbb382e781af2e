/**
 * `laurel export FILE --plan SPEC --to pytorch|keras-json|tfjs [-o OUT]`: the model with a plan as a PyTorch
 * module, a Keras 2 model JSON, or a TF.js model.json (topology only: the file holds no weights to carry).
 */
import { basename, dirname, join } from 'node:path';
import { exportFileName, exportText } from '../core/export/exportText';
import type { ExportTarget } from '../core/export/exportText';
import { PlanError, parsePlan, resolvePlanChecked } from '../core/laurel/planSpec';
import type { VariantChoice, VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { writeFileAtomic } from '../util/fsAtomic';

export { EXPORT_TARGETS, isExportTarget } from '../core/export/exportText';
export type { ExportTarget } from '../core/export/exportText';

export interface ExportResult {
  /** Where the file was written. */
  path: string;
  /** One line for stdout. */
  message: string;
  /** Lines for stderr: layers the PyTorch file cannot run. */
  warnings: string[];
}

/** The default output: beside the model, `<stem>.py`, `<stem>.keras.json` or `<stem>.model.json`. */
export function defaultExportPath(file: string, target: ExportTarget): string {
  return join(dirname(file), exportFileName(basename(file), target));
}

/** Exports `m` with the plan `spec` (none: the variants the file has) and writes it atomically. */
export function exportModel(m: OpenModel, target: ExportTarget, spec: string | undefined, defaults: VariantOptions, out?: string): ExportResult {
  const resolved = spec ? resolvePlanChecked(parsePlan(spec, defaults), m.sites) : { choices: new Map<string, VariantChoice>(), warnings: [] };
  const choices = resolved.choices;
  const path = out ?? defaultExportPath(m.doc.fileName, target);
  let text: string;
  let warnings: string[] = resolved.warnings.map((w) => `warning: ${w}`);
  try {
    const r = exportText(m, target, choices);
    text = r.text;
    warnings = warnings.concat(r.unsupported.map((u) => `${path}: layer '${u.layer}' (${u.className}) is not exported; forward() raises NotImplementedError there`));
  } catch (e) {
    // The topology refuses plans it cannot express (a shared merge whose calls need different variants).
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) throw new PlanError(e.message);
    throw e;
  }
  writeFileAtomic(path, new TextEncoder().encode(text));
  const laurel = [...choices.values()].filter((c) => c.variant !== 'plain').length;
  const plan = spec ? `plan ${spec} (${laurel} LAuReL site(s))` : 'variants as in the file';
  return { path, message: `${path}: ${target}, ${plan}`, warnings };
}
