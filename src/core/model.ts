import { analyze, totalParams } from './analysis/analyze';
import type { GraphAnalysis, UnknownLayer } from './analysis/analyze';
import { findResiduals } from './analysis/residuals';
import type { ResidualSite } from './analysis/residuals';
import type { ModelDocument } from './ir';
import { fileLayers } from './ir';
import { costPlan } from './laurel/planCost';
import type { PlanCost } from './laurel/planCost';
import { parsePlan, resolvePlanChecked } from './laurel/planSpec';
import type { VariantOptions } from './laurel/variants';
import { readModel } from './read/readModel';
import { planEdits } from './write/planEdits';
import type { TextEdit } from './write/planEdits';
import { writeDocument } from './write/writeDocument';

/** A model file read and analysed: what the CLI, the CodeLens and the graph view all start from. */
export interface OpenModel {
  doc: ModelDocument;
  analysis: GraphAnalysis;
  sites: ResidualSite[];
  params: { total: number; trainable: number; nonTrainable: number };
}

/** `decoded`: the bytes as UTF-8 text (BOM kept), where the caller has decoded them already. */
export function openModel(fileName: string, bytes: Uint8Array, decoded?: string): OpenModel {
  const doc = readModel(fileName, bytes, decoded);
  const analysis = analyze(doc);
  const sites = findResiduals(analysis);
  const p = analysis.params;
  return { doc, analysis, sites, params: { total: totalParams(p), trainable: p.trainable, nonTrainable: p.nonTrainable } };
}

export interface PlannedModel {
  cost: PlanCost;
  edits: TextEdit[];
  /** Senseless values and entries with no effect (planChecks.ts); impossible ones throw a PlanError. */
  warnings: string[];
}

/** The cost of a plan (text spec) and the edits that write it into the file. */
export function planModel(m: OpenModel, spec: string, defaults?: VariantOptions): PlannedModel {
  const { choices, warnings } = resolvePlanChecked(parsePlan(spec, defaults), m.sites);
  return { cost: costPlan(m.sites, choices, m.params.total), edits: planEdits(m.doc, m.sites, choices), warnings };
}

export function plannedBytes(m: OpenModel, planned: PlannedModel): Uint8Array {
  return writeDocument(m.doc, planned.edits);
}

/** The machine-readable summary `laurel inspect --json` prints. */
export interface InspectReport {
  file: string;
  format: string;
  container: string;
  layers: number;
  params: { total: number; trainable: number; nonTrainable: number };
  unknownLayers: UnknownLayer[];
  problems: string[];
  residuals: {
    id: string;
    merge: string;
    branch: string;
    shortcut: string;
    fork: string;
    shortcutKind: string;
    shortcutLayers: string[];
    width: number | null;
    positions: number | null;
    variant: string;
  }[];
  plan?: { spec: string } & PlanCost;
}

export function inspectReport(m: OpenModel, planned?: { spec: string; cost: PlanCost }): InspectReport {
  const report: InspectReport = {
    file: m.doc.fileName,
    format: m.doc.format,
    container: m.doc.container,
    layers: fileLayers(m.doc.graph).length,
    params: m.params,
    unknownLayers: m.analysis.unknownLayers,
    problems: m.analysis.problems.map((p) => p.message),
    residuals: m.sites.map((s) => ({
      id: s.id,
      merge: s.merge,
      branch: s.branchLayer,
      shortcut: s.shortcutLayer,
      fork: s.forkLayer,
      shortcutKind: s.shortcutKind,
      shortcutLayers: s.shortcutLayers,
      width: s.width,
      positions: s.positions,
      variant: s.current.variant,
    })),
  };
  if (planned) report.plan = { spec: planned.spec, ...planned.cost };
  return report;
}
