import type { VariantChoice } from '../laurel/variants';
import type { OpenModel } from '../model';
import { toKerasTopology, toTfjsModelJson } from './kerasTopology';
import { toPyTorch } from './pytorch';
import { UNSAFE_CHARS } from './unsafeChars';

/** The forms a model (with a plan) is exported to: a PyTorch module, a Keras 2 model JSON, a TF.js model.json. */
export const EXPORT_TARGETS = ['pytorch', 'keras-json', 'tfjs'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

export const isExportTarget = (s: string): s is ExportTarget => (EXPORT_TARGETS as readonly string[]).includes(s);

const SUFFIX: Record<ExportTarget, string> = { pytorch: '.py', 'keras-json': '.keras.json', tfjs: '.model.json' };

/** `<stem>.py`, `<stem>.keras.json` or `<stem>.model.json` for a model file's base name. */
export function exportFileName(name: string, target: ExportTarget): string {
  const dot = name.lastIndexOf('.');
  const stem = name.endsWith('.model.json') ? name.slice(0, -'.model.json'.length) : dot > 0 ? name.slice(0, dot) : name;
  return `${stem}${SUFFIX[target]}`;
}

/**
 * The exported file's text. `unsupported` lists layers the PyTorch module cannot run (its forward() raises
 * there). Throws an Error when the model has a located problem, when the topology cannot express the plan
 * (a shared merge needing two variants) or when a name cannot be written (toPyTorch).
 */
export function exportText(m: OpenModel, target: ExportTarget, choices: Map<string, VariantChoice>): { text: string; unsupported: { layer: string; className: string }[] } {
  // A model with a located problem (a bad config value, a dangling tensor) would export as something else.
  const problems = m.analysis.problems;
  if (problems.length) throw new Error(`cannot export a model with ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}: ${problems[0]!.message}`);
  if (target === 'pytorch') {
    const r = toPyTorch(m, choices);
    return { text: r.code, unsupported: r.unsupported };
  }
  const json = target === 'tfjs' ? toTfjsModelJson(m, choices) : { ...toKerasTopology(m, choices), keras_version: toTfjsModelJson(m, choices).modelTopology.keras_version, backend: 'tensorflow' };
  return { text: `${jsonText(json)}\n`, unsupported: [] };
}

/**
 * JSON for the exported files: JSON.stringify (quotes, backslashes and C0 controls escaped) with the other
 * unsafe characters escaped too (U+2028 ends a line in older JavaScript; bidi controls hide text). Outside
 * strings JSON.stringify writes only spaces and the newlines of its indentation, so this touches strings only.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_CHARS, (ch) =>
    ch === ' ' || ch === '\n' ? ch : [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}
