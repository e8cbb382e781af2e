/**
 * A PyTorch .py model as the CLI and the editor see it: the static reading, the trace of one forward pass
 * when there is one, and the residual sites by line (`L104`) that plans name. Without a trace the sites are
 * the static candidates, unmeasured; with one they are exactly the adds the trace found to be residuals.
 */
import { costPlan } from '../laurel/planCost';
import type { CostSite, PlanCost } from '../laurel/planCost';
import { parsePlan, PlanError, resolvePlan } from '../laurel/planSpec';
import { DEFAULT_OPTIONS } from '../laurel/variants';
import type { VariantChoice, VariantOptions } from '../laurel/variants';
import { LineIndex, parsePySource } from './pyStatic';
import type { PyAdd, PyClass, PyLaurelSite, PyStatic } from './pyStatic';
import type { PyTrace, TraceAdd } from './pyTrace';

const PLAIN: VariantChoice = { variant: 'plain', options: DEFAULT_OPTIONS };

export interface PySite {
  /** `L<line>`: what plans and `laurel apply --plan` name. */
  id: string;
  line: number;
  /** The line's text, trimmed. */
  code: string;
  cls: string | null;
  /** How many times the line's add ran in the forward pass (0 when not measured). */
  instances: number;
  /** Per instance: width D, positions (H·W or T) and the shortcut's kind. */
  widths: number[];
  positions: (number | null)[];
  kinds: ('identity' | 'projection')[];
  axis: 1 | -1 | null;
  shortcutIndex: 0 | 1;
  measured: boolean;
  editable: boolean;
  /** Why the line cannot be edited in place. */
  reason?: string;
  /** The library class holding the add (e.g. TransformerEncoderLayer), reported at the calling line. */
  library: string | null;
  current: VariantChoice;
  add?: PyAdd;
  laurel?: PyLaurelSite;
}

export interface OpenPyModel {
  fileName: string;
  text: string;
  statics: PyStatic;
  trace: PyTrace | null;
  sites: PySite[];
  params: PyTrace['params'] | null;
}

export function openPyModel(fileName: string, text: string, trace: PyTrace | null = null): OpenPyModel {
  const statics = parsePySource(text);
  const idx = new LineIndex(text);
  const sites = trace ? measuredSites(statics, trace, idx) : staticSites(statics, idx);
  return { fileName, text, statics, trace, sites, params: trace?.params ?? null };
}

function base(line: number, idx: LineIndex, cls: PyClass | undefined): Pick<PySite, 'id' | 'line' | 'code' | 'cls'> {
  return { id: `L${line}`, line, code: idx.lineText(line).trim(), cls: cls?.name ?? null };
}

function staticSites(s: PyStatic, idx: LineIndex): PySite[] {
  const out: PySite[] = [];
  for (const cls of s.classes) {
    for (const add of cls.adds.filter((a) => a.candidate)) {
      out.push({ ...base(add.line, idx, cls), instances: 0, widths: [], positions: [], kinds: [], axis: null, shortcutIndex: add.shortcutGuess, measured: false, editable: true, library: null, current: PLAIN, add });
    }
    for (const l of cls.laurel) {
      out.push({ ...base(l.line, idx, cls), instances: 0, widths: [], positions: [], kinds: [], axis: null, shortcutIndex: 1, measured: false, editable: l.replaces !== null, library: null, current: l.choice ?? PLAIN, laurel: l, ...(l.replaces === null ? { reason: 'its __init__ line has lost the text it replaced' } : {}) });
    }
  }
  return dedupe(out.sort((a, b) => a.line - b.line));
}

function measuredSites(s: PyStatic, trace: PyTrace, idx: LineIndex): PySite[] {
  const byLine = new Map<number, TraceAdd[]>();
  for (const a of trace.adds) {
    if (!a.residual || a.line === null) continue;
    byLine.set(a.line, [...(byLine.get(a.line) ?? []), a]);
  }
  const out: PySite[] = [];
  for (const [line, adds] of byLine) {
    const cls = s.classes.find((c) => c.adds.some((a) => a.line === line) || c.laurel.some((l) => l.line === line));
    const lineAdds = cls?.adds.filter((a) => a.line === line) ?? [];
    const laurel = cls?.laurel.find((l) => l.line === line);
    const library = adds.find((a) => a.library)?.library ?? null;
    const first = adds[0]!;
    const site: PySite = {
      ...base(line, idx, cls),
      instances: adds.length,
      widths: adds.map((a) => a.width ?? 0),
      positions: adds.map((a) => a.positions),
      kinds: adds.map((a) => a.shortcutKind ?? 'identity'),
      axis: first.axis,
      shortcutIndex: first.shortcut ?? 1,
      measured: true,
      editable: false,
      library,
      current: PLAIN,
    };
    if (laurel) {
      site.laurel = laurel;
      site.current = laurel.choice ?? PLAIN;
      site.editable = laurel.replaces !== null;
      if (!site.editable) site.reason = 'its __init__ line has lost the text it replaced';
    } else if (library) {
      site.reason = `the add is inside ${library} (library code)`;
    } else if (lineAdds.length === 1) {
      site.add = lineAdds[0]!;
      site.editable = cls?.initInsert !== null;
      if (!site.editable) site.reason = `${cls?.name} has no __init__ with super().__init__() to create the LAuReL module in`;
    } else {
      site.reason = lineAdds.length ? 'several adds on one line' : 'no add written on this line';
    }
    if (adds.some((a) => a.width === null)) site.reason = site.reason ?? 'a width is unknown';
    out.push(site);
  }
  return dedupe(out.sort((a, b) => a.line - b.line));
}

/** One site per line; a second add on a line keeps its own id with a suffix (L12.2), not editable. */
function dedupe(sites: PySite[]): PySite[] {
  const seen = new Map<string, number>();
  return sites.map((s) => {
    const n = (seen.get(s.id) ?? 0) + 1;
    seen.set(s.id, n);
    return n === 1 ? s : { ...s, id: `${s.id}.${n}`, editable: false, reason: 'several adds on one line' };
  });
}

/** One pricing site per instance, all with the line's id, so a choice for the line prices every instance. */
export function costSites(m: OpenPyModel): CostSite[] {
  return m.sites.flatMap((s) => s.widths.map((w, i) => ({ id: s.id, merge: s.id, width: w || null, positions: s.positions[i] ?? null, current: s.current })));
}

/** The choice for every line from a plan text (`all=rw+lr:r=16`, `L104=rw`). */
export function resolvePyPlan(m: OpenPyModel, spec: string, defaults: VariantOptions = DEFAULT_OPTIONS): Map<string, VariantChoice> {
  return resolvePlan(parsePlan(spec, defaults), m.sites.map((s) => ({ id: s.id, merge: s.id, current: s.current })));
}

export function pyCost(m: OpenPyModel, choices: Map<string, VariantChoice>): PlanCost {
  if (!m.params) throw new PlanError('the model is not measured yet: pricing needs one forward pass (its widths and parameter count)');
  return costPlan(costSites(m), choices, m.params.total);
}

/** The model class a lens sits above: its parameters when the trace ran it. */
export function classFigures(m: OpenPyModel, cls: string): { instances: number; params: number } | null {
  if (!m.trace) return null;
  const mods = m.trace.modules.filter((x) => x.cls === cls);
  return mods.length ? { instances: mods.length, params: mods[0]!.params } : null;
}
