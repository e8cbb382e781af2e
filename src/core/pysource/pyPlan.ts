/**
 * A plan on a .py model: its cost, its edits and the edited text; and the JSON `laurel inspect --json` prints
 * (the fields of Keras files plus line, code, instances, editable per residual).
 */
import type { PlanCost } from '../laurel/planCost';
import type { VariantOptions } from '../laurel/variants';
import { applyEdits } from '../write/planEdits';
import type { TextEdit } from '../write/planEdits';
import { pyCost, resolvePyPlan } from './pyModel';
import type { OpenPyModel } from './pyModel';
import { planPyEdits } from './pyEdits';

export interface PlannedPy {
  spec: string;
  cost: PlanCost;
  edits: TextEdit[];
  text: string;
  /** Whether the edited file uses LaurelResidual (so laurel_residual.py must be beside it). */
  usesLaurel: boolean;
}

export function planPy(m: OpenPyModel, spec: string, defaults?: VariantOptions): PlannedPy {
  const choices = resolvePyPlan(m, spec, defaults);
  const edits = planPyEdits(m, choices);
  const usesLaurel = m.sites.some((s) => (choices.get(s.id) ?? s.current).variant !== 'plain');
  return { spec, cost: pyCost(m, choices), edits, text: applyEdits(m.text, edits), usesLaurel };
}

export interface PyInspectReport {
  file: string;
  format: 'pytorch';
  model: string | null;
  input: string | null;
  torch: string | null;
  measured: boolean;
  params: { total: number; trainable: number; nonTrainable: number } | null;
  classes: { name: string; line: number; instances: number; params: number | null }[];
  residuals: {
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
  }[];
  plan?: { spec: string } & PlanCost;
}

export function pyInspectReport(m: OpenPyModel, planned?: { spec: string; cost: PlanCost }): PyInspectReport {
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
    residuals: m.sites.map((s) => {
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
    }),
  };
  if (planned) report.plan = { spec: planned.spec, ...planned.cost };
  return report;
}
