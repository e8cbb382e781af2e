/**
 * The CodeLens of a PyTorch .py file as plain data (no vscode here, unit-tested): above each nn.Module class
 * and each residual line. Static until measured ("not measured yet" + Measure), exact after one forward pass.
 */
import { choiceSpec } from '../core/laurel/planSpec';
import { instanceCost, variantLabel } from '../core/laurel/variants';
import type { Variant, VariantOptions } from '../core/laurel/variants';
import type { OpenPyModel, PySite } from '../core/pysource/pyModel';
import type { TraceError } from '../core/pysource/pyTrace';
import { deltaText, thousands } from '../report/figures';

export interface PyLensSpec {
  /** 0-based line. */
  line: number;
  title: string;
  /** Empty: an information-only lens. */
  command: string;
  args: unknown[];
  tooltip?: string;
}

/** Where the measurement stands for this text. */
export type MeasureState =
  | { kind: 'none'; trusted: boolean }
  | { kind: 'running' }
  | { kind: 'failed'; error: TraceError }
  | { kind: 'measured' };

export const PY_MEASURE = 'laurel.py.measure';
export const PY_APPLY = 'laurel.py.apply';
const LENS_VARIANTS: Variant[] = ['rw', 'lr', 'rw+lr', 'gemma'];


/** What one variant adds on a line, summed over the line's instances. */
export function lineCost(site: PySite, variant: Variant, options: VariantOptions): number {
  return site.widths.reduce((sum, w) => sum + instanceCost({ variant, options }, w).params, 0);
}

export function buildPyLenses(m: OpenPyModel, state: MeasureState, options: VariantOptions): PyLensSpec[] {
  const out: PyLensSpec[] = [];
  const measured = state.kind === 'measured' && m.trace !== null;
  const base = (m.params?.total ?? 0) - m.sites.reduce((s, x) => s + x.widths.reduce((a, w) => a + instanceCost(x.current, w).params, 0), 0);
  const laurelNow = m.sites.reduce((s, x) => s + x.widths.reduce((a, w) => a + instanceCost(x.current, w).params, 0), 0);
  for (const cls of m.statics.classes) {
    const line = cls.line - 1;
    const top = measured && m.trace!.modules[0]?.cls === cls.name;
    const mods = m.trace?.modules.filter((x) => x.cls === cls.name) ?? [];
    if (measured && top) {
      const p = m.params!;
      const instances = m.sites.reduce((s, x) => s + x.instances, 0);
      out.push({ line, title: `${thousands(p.total)} params (${thousands(p.trainable)} trainable) · ${instances} residuals on ${m.sites.length} lines · LAuReL ${laurelNow ? deltaText(laurelNow, base) : 'none'}`, command: '', args: [], tooltip: `model = ${m.trace!.model}; input = ${m.trace!.input} (torch ${m.trace!.torch})` });
    } else if (measured && mods.length) {
      out.push({ line, title: `×${mods.length} · ${thousands(mods[0]!.params)} params each`, command: '', args: [] });
    } else if (measured) {
      out.push({ line, title: 'not used by the measured model', command: '', args: [], tooltip: `model = ${m.trace!.model}` });
    } else if (cls === m.statics.classes[0] || cls.adds.some((a) => a.candidate)) {
      out.push(...unmeasured(line, state));
    }
  }
  for (const s of m.sites) {
    const line = s.line - 1;
    if (!s.measured || !measured) {
      out.push({ line, title: 'residual (not measured yet)', command: '', args: [], tooltip: 'a candidate found without running anything; Measure runs one forward pass for the exact figures' });
      continue;
    }
    const widths = [...new Set(s.widths)].join('/');
    const kinds = [...new Set(s.kinds)].join('+');
    const head = `residual · D=${widths} · ×${s.instances} · ${kinds} · now ${variantLabel(s.current)}`;
    if (!s.editable) {
      out.push({ line, title: `${head} · not editable in place`, command: '', args: [], tooltip: s.reason ?? '' });
      continue;
    }
    out.push({ line, title: head, command: '', args: [] });
    for (const v of LENS_VARIANTS) {
      if (v === s.current.variant) continue;
      const n = lineCost(s, v, options);
      const choice = { variant: v, options };
      out.push({ line, title: `${variantLabel(choice)} ${deltaText(n, base)}`, command: PY_APPLY, args: [choiceSpec(choice, s.id)], tooltip: `switch ${s.id} (${s.instances} instance${s.instances === 1 ? '' : 's'}) to ${variantLabel(choice)}` });
    }
    if (s.current.variant !== 'plain') out.push({ line, title: 'plain', command: PY_APPLY, args: [`${s.id}=plain`], tooltip: 'back to the original add' });
  }
  return out;
}

function unmeasured(line: number, state: MeasureState): PyLensSpec[] {
  switch (state.kind) {
    case 'running':
      return [{ line, title: '$(sync~spin) measuring (one forward pass)…', command: '', args: [] }];
    case 'failed': {
      const e = state.error;
      const title = e.phase === 'torch' ? 'exact figures need a Python with torch: set laurel.pythonPath, or install python3-torch / pip install torch' : `not measured: ${e.message.length > 90 ? `${e.message.slice(0, 90)}…` : e.message}`;
      return [
        { line, title, command: '', args: [], tooltip: e.message },
        { line, title: 'Measure again', command: PY_MEASURE, args: [] },
      ];
    }
    default:
      return state.kind === 'none' && !state.trusted
        ? [{ line, title: 'nn.Module · not measured (measuring runs the file: trust the workspace first)', command: '', args: [] }]
        : [{ line, title: 'nn.Module · not measured yet', command: '', args: [] }, { line, title: 'Measure', command: PY_MEASURE, args: [], tooltip: "run one forward pass in Python (the file's `# laurel: model = ...; input = ...` or a no-argument class)" }];
  }
}
