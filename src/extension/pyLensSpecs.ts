/**
 * The CodeLens of a PyTorch .py file as plain data (no vscode here, unit-tested): above each nn.Module class
 * and each residual line. Static until measured ("not measured yet" + Measure), exact after one forward pass.
 */
import { choiceSpec } from '../core/laurel/planSpec';
import { variantLabel } from '../core/laurel/variants';
import type { Variant, VariantOptions } from '../core/laurel/variants';
import { pyCost } from '../core/pysource/pyModel';
import type { OpenPyModel, PyModelView, PySite } from '../core/pysource/pyModel';
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
/** (uri, layer?, model?): the graph view of one model of the file. */
export const PY_OPEN_GRAPH = 'laurel.py.openGraph';
export const PY_APPLY = 'laurel.py.apply';
const LENS_VARIANTS: Variant[] = ['rw', 'lr', 'rw+lr', 'pa', 'gemma'];

/** What switching one line to a variant adds to a model, summed over the line's instances (PA: the terms its history gives). */
export function lineCost(m: OpenPyModel, v: PyModelView, site: PySite, variant: Variant, options: VariantOptions): { params: number; base: number } {
  const c = pyCost(m, new Map([[site.id, { variant, options }]]), v);
  return { params: c.sites.filter((x) => x.site === site.id).reduce((sum, x) => sum + x.params, 0), base: c.baseParams };
}

/** Several models name themselves in a lens ("in ResNet34()"); the first three in the title, all in the tooltip. */
const SHOWN = 3;

export function buildPyLenses(m: OpenPyModel, state: MeasureState, options: VariantOptions): PyLensSpec[] {
  const out: PyLensSpec[] = [];
  const measured = state.kind === 'measured' && m.views.length > 0;
  const several = m.views.length > 1;
  for (const cls of m.statics.classes) {
    const line = cls.line - 1;
    const tops = measured ? m.views.filter((v) => v.trace.modules[0]?.cls === cls.name) : [];
    const inside = measured ? m.views.flatMap((v) => { const n = v.trace.modules.filter((x) => x.cls === cls.name); return n.length && !tops.includes(v) ? [{ v, n }] : []; }) : [];
    const failed = m.failures.filter((f) => f.model?.replace(/\s+/g, '').startsWith(`${cls.name}(`));
    for (const v of tops) {
      const p = v.params;
      const now = pyCost(m, new Map(), v);
      const laurelNow = p.total - now.baseParams;
      const instances = v.sites.reduce((sum, x) => sum + x.instances, 0);
      out.push({ line, title: `${several ? `${v.name}: ` : ''}${thousands(p.total)} params (${thousands(p.trainable)} trainable) · ${instances} residuals on ${v.sites.length} lines · LAuReL ${laurelNow ? deltaText(laurelNow, now.baseParams) : 'none'}`, command: '', args: [], tooltip: `model = ${v.name}; input = ${v.trace.input} (torch ${v.trace.torch})` });
      out.push({ line, title: several ? `Graph of ${v.name}` : 'Open graph', command: PY_OPEN_GRAPH, args: [undefined, v.name], tooltip: `the graph of ${v.name} from its measured forward pass` });
    }
    if (inside.length) {
      const where = inside.map(({ v, n }) => `×${n.length}${several ? ` in ${v.name}` : ''}`);
      out.push({ line, title: `${where.slice(0, SHOWN).join(', ')}${where.length > SHOWN ? ', …' : ''} · ${thousands(inside[0]!.n[0]!.params)} params each`, command: '', args: [], tooltip: where.join(', ') });
    }
    for (const f of failed) out.push(...unmeasured(line, { kind: 'failed', error: f.error }, f.model));
    if (measured && !tops.length && !inside.length && !failed.length) {
      out.push({ line, title: `not used by the measured model${several ? 's' : ''}`, command: '', args: [], tooltip: m.views.map((v) => `model = ${v.name}`).join('; ') });
    } else if (!measured && (cls === m.statics.classes[0] || cls.adds.some((a) => a.candidate))) {
      out.push(...unmeasured(line, state));
    }
  }
  for (const s of m.sites) {
    const line = s.line - 1;
    if (!s.measured || !measured) {
      out.push({ line, title: 'residual (not measured yet)', command: '', args: [], tooltip: 'a candidate found without running anything; Measure runs one forward pass for the exact figures' });
      continue;
    }
    // The models that run this line, each with its own instances, widths and price.
    const owners = m.views.flatMap((v) => { const own = v.sites.find((x) => x.line === s.line); return own ? [{ v, own }] : []; });
    const inModel = (v: PyModelView): string => (several ? ` in ${v.name}` : '');
    const head = `residual · ${owners.slice(0, SHOWN).map(({ v, own }) => `D=${[...new Set(own.widths)].join('/')} · ×${own.instances}${inModel(v)}`).join(', ')} · ${[...new Set(s.kinds)].join('+')} · now ${variantLabel(s.current)}`;
    if (!s.editable) {
      out.push({ line, title: `${head} · not editable in place`, command: '', args: [], tooltip: s.reason ?? '' });
      continue;
    }
    out.push({ line, title: head, command: '', args: [], ...(owners.length > SHOWN ? { tooltip: owners.map(({ v, own }) => `×${own.instances} in ${v.name}`).join(', ') } : {}) });
    for (const variant of LENS_VARIANTS) {
      if (variant === s.current.variant) continue;
      const choice = { variant, options };
      const costs = owners.map(({ v, own }) => ({ v, own, ...lineCost(m, v, own, variant, options) }));
      const priced = costs.map((c) => `${deltaText(c.params, c.base)}${inModel(c.v)}`);
      out.push({ line, title: `${variantLabel(choice)} ${priced.slice(0, SHOWN).join(' · ')}`, command: PY_APPLY, args: [choiceSpec(choice, s.id)], tooltip: `switch ${s.id} to ${variantLabel(choice)}: ${costs.map((c) => `${c.own.instances} instance${c.own.instances === 1 ? '' : 's'}, +${thousands(c.params)} params${inModel(c.v)}`).join('; ')}` });
    }
    if (s.current.variant !== 'plain') out.push({ line, title: 'plain', command: PY_APPLY, args: [`${s.id}=plain`], tooltip: 'back to the original add' });
  }
  return out;
}

function unmeasured(line: number, state: MeasureState, model?: string | null): PyLensSpec[] {
  switch (state.kind) {
    case 'running':
      return [{ line, title: '$(sync~spin) measuring (one forward pass)…', command: '', args: [] }];
    case 'failed': {
      const e = state.error;
      const title = e.phase === 'torch' ? 'exact figures need a Python with torch: set laurel.pythonPath, or install python3-torch / pip install torch' : `${model ? `${model}: ` : ''}not measured: ${e.message.length > 90 ? `${e.message.slice(0, 90)}…` : e.message}`;
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
