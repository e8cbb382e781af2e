/**
 * A plan on a .py model: its cost, its edits and the edited text; and the JSON `laurel inspect --json` prints
 * (the fields of Keras files plus line, code, instances, editable per residual).
 */
import type { PlanCost } from '../laurel/planCost';
import type { VariantOptions } from '../laurel/variants';
import { applyEdits } from '../write/planEdits';
import type { TextEdit } from '../write/planEdits';
import { pyCost, resolvePyPlan } from './pyModel';
import type { OpenPyModel, PyModelView } from './pyModel';
import { planPyEdits } from './pyEdits';

export interface PlannedPy {
  spec: string;
  /** What the plan adds to the first measured model; `costs` has it for every measured model (views order). */
  cost: PlanCost;
  costs: PlanCost[];
  edits: TextEdit[];
  text: string;
  /** Whether the edited file uses LaurelResidual (so laurel_residual.py must be beside it). */
  usesLaurel: boolean;
}

export function planPy(m: OpenPyModel, spec: string, defaults?: VariantOptions): PlannedPy {
  const choices = resolvePyPlan(m, spec, defaults);
  const edits = planPyEdits(m, choices);
  const usesLaurel = m.sites.some((s) => (choices.get(s.id) ?? s.current).variant !== 'plain');
  const costs = m.views.map((v) => pyCost(m, choices, v));
  return { spec, cost: costs[0] ?? pyCost(m, choices), costs, edits, text: applyEdits(m.text, edits), usesLaurel };
}

type ResidualReport = {
  id: string;
  line: number;
  code: string;
  cls: string | null;
  instances: number;
  editable: boolean;
  reason?: string;
  library: string | null;
  width: number | null;
  widths: number[];
  positions: number | null;
  shortcutKind: string | null;
  variant: string;
};

/** One model of the file: what it measured and its residual lines (the lines it runs). */
export interface PyModelReport {
  model: string;
  input: string;
  params: { total: number; trainable: number; nonTrainable: number };
  residuals: ResidualReport[];
  plan?: { spec: string } & PlanCost;
}

export interface PyInspectReport {
  file: string;
  format: 'pytorch';
  /** The first measured model (the fields of a one-model file); every model is in `models`. */
  model: string | null;
  input: string | null;
  torch: string | null;
  measured: boolean;
  params: { total: number; trainable: number; nonTrainable: number } | null;
  classes: { name: string; line: number; instances: number; params: number | null }[];
  residuals: ResidualReport[];
  plan?: { spec: string } & PlanCost;
  models: PyModelReport[];
  /** Models that could not be measured, with the error and the line it names. */
  failures: { model: string | null; phase: string; message: string; line: number | null }[];
}

function residualReport(sites: OpenPyModel['sites']): ResidualReport[] {
  return sites.map((s) => {
    const kinds = [...new Set(s.kinds)];
    const widths = [...new Set(s.widths)];
    const positions = [...new Set(s.positions)];
    return {
      id: s.id,
      line: s.line,
      code: s.code,
      cls: s.cls,
      instances: s.instances,
      editable: s.editable,
      ...(s.reason ? { reason: s.reason } : {}),
      library: s.library,
      width: widths.length === 1 ? widths[0]! : null,
      widths: s.widths,
      positions: positions.length === 1 ? positions[0]! : null,
      shortcutKind: kinds.length === 1 ? kinds[0]! : kinds.length ? 'mixed' : null,
      variant: s.current.variant,
    };
  });
}

function modelReport(v: PyModelView, plan?: { spec: string; cost: PlanCost }): PyModelReport {
  return { model: v.name, input: v.trace.input, params: v.params, residuals: residualReport(v.sites), ...(plan ? { plan: { spec: plan.spec, ...plan.cost } } : {}) };
}

export function pyInspectReport(m: OpenPyModel, planned?: PlannedPy): PyInspectReport {
  const t = m.trace;
  const report: PyInspectReport = {
    file: m.fileName,
    format: 'pytorch',
    model: t?.model ?? null,
    input: t?.input ?? null,
    torch: t?.torch ?? null,
    measured: t !== null,
    params: m.params,
    classes: m.statics.classes.map((c) => {
      const mods = t?.modules.filter((x) => x.cls === c.name) ?? [];
      return { name: c.name, line: c.line, instances: mods.length, params: mods[0]?.params ?? null };
    }),
    residuals: residualReport(m.views[0]?.sites ?? m.sites),
    models: m.views.map((v, i) => modelReport(v, planned?.costs[i] ? { spec: planned.spec, cost: planned.costs[i]! } : undefined)),
    failures: m.failures.map((f) => ({ model: f.model, ...f.error })),
  };
  if (planned) report.plan = { spec: planned.spec, ...planned.cost };
  return report;
}
