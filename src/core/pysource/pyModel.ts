/**
 * A PyTorch .py model as the CLI and the editor see it: the static reading, the trace of one forward pass
 * when there is one, and the residual sites by line (`L104`) that plans name. Without a trace the sites are
 * the static candidates, unmeasured; with one they are exactly the adds the trace found to be residuals.
 */
import { costPlan } from '../laurel/planCost';
import type { CostSite, PlanCost } from '../laurel/planCost';
import { parsePlan, PlanError, resolvePlan } from '../laurel/planSpec';
import { DEFAULT_OPTIONS, hasRw, rwParams } from '../laurel/variants';
import type { VariantChoice, VariantOptions } from '../laurel/variants';
import { LineIndex, parsePySource } from './pyStatic';
import type { PyAdd, PyClass, PyLaurelSite, PyStatic } from './pyStatic';
import type { ModelResult, PyTrace, TraceAdd, TraceError } from './pyTrace';

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

/** One measured model of the file (a file can define several: ResNet18() and ResNet34(), a GAN's two nets). */
export interface PyModelView {
  /** The model expression that was evaluated (`ResNet18()`). */
  name: string;
  trace: PyTrace;
  params: PyTrace['params'];
  /** The residual lines this model runs, with its own instances and widths. */
  sites: PySite[];
}

/** A model of the file that could not be measured (`model`: its expression, when it got that far). */
export interface PyModelFailure {
  model: string | null;
  error: TraceError;
}

export interface OpenPyModel {
  fileName: string;
  text: string;
  statics: PyStatic;
  /** The first measured model's trace and parameters (the one training and the graph use). */
  trace: PyTrace | null;
  /**
   * Every residual line of the file, for edits and plans: the first model's sites, then the lines only other
   * models run (with that model's figures). Pricing is per model (`views`).
   */
  sites: PySite[];
  params: PyTrace['params'] | null;
  views: PyModelView[];
  failures: PyModelFailure[];
}

export function openPyModel(fileName: string, text: string, trace: PyTrace | null = null): OpenPyModel {
  return openPyModels(fileName, text, trace ? [{ ok: true, trace }] : []);
}

/** The file with every model `laurel_trace.py --all` measured (failures kept, to be shown where they belong). */
export function openPyModels(fileName: string, text: string, results: readonly ModelResult[], statics: PyStatic = parsePySource(text)): OpenPyModel {
  const idx = new LineIndex(text);
  const views = results.flatMap((r) => (r.ok ? [{ name: r.trace.model, trace: r.trace, params: r.trace.params, sites: measuredSites(statics, r.trace, idx) }] : []));
  const failures = results.flatMap((r) => (r.ok ? [] : [{ model: r.model, error: r.error }]));
  const first = views[0];
  let sites = first ? first.sites : staticSites(statics, idx);
  for (const v of views.slice(1)) {
    const lines = new Set(sites.map((s) => s.line));
    sites = [...sites, ...v.sites.filter((s) => !lines.has(s.line))].sort((a, b) => a.line - b.line);
  }
  return { fileName, text, statics, trace: first?.trace ?? null, sites, params: first?.params ?? null, views, failures };
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

/**
 * One pricing site per instance (all with the line's id, so a choice for the line prices every instance), in the
 * order the forward pass ran them. PA's terms follow laurel_residual.py's history: x_i and the shortcut inputs of
 * the earlier LaurelResidual calls of the same model and shape in that pass (lines still plain record nothing),
 * at most k; a PA module the trace ran has the terms it made.
 */
export function costSites(v: Pick<PyModelView, 'trace' | 'sites'>, choices: Map<string, VariantChoice> = new Map()): CostSite[] {
  const byLine = new Map(v.sites.map((s) => [s.line, s]));
  // A line that one module instance runs again in the pass (a block called twice, a loop in forward) has one
  // LaurelResidual there: its later calls share the first's weights and terms, and still count in PA's history.
  const firsts = new Map<string, CostSite>();
  return v.trace.adds.flatMap((a, i): CostSite[] => {
    const s = a.residual && a.line !== null ? byLine.get(a.line) : undefined;
    if (!s) return [];
    const planned = choices.get(s.id) ?? s.current;
    const shape = a.shapes[a.shortcut ?? 1] ?? [];
    const terms = a.laurel?.terms;
    const site: CostSite = { id: s.id, merge: s.id, width: a.width, positions: a.positions, current: s.current, scope: planned.variant === 'plain' ? [`plain#${i}`] : ['laurel'], shape, ...(typeof terms === 'number' ? { inputCount: terms + 1 } : {}) };
    const owner = `${a.line}\u0000${a.module}`;
    const first = firsts.get(owner);
    if (first) site.shares = first;
    else firsts.set(owner, site);
    return [site];
  });
}

/** The choice for every line from a plan text (`all=rw+lr:r=16`, `L104=rw`). */
export function resolvePyPlan(m: OpenPyModel, spec: string, defaults: VariantOptions = DEFAULT_OPTIONS): Map<string, VariantChoice> {
  // Checked per instance (a k up to the instances the model runs, r against each width) where measured.
  const view = m.views[0];
  const instances = view ? costSites(view).map(({ id, merge, current, width }) => ({ id, merge, current, width })) : [];
  const seen = new Set(instances.map((s) => s.id));
  return resolvePlan(parsePlan(spec, defaults), [...instances, ...m.sites.filter((s) => !seen.has(s.id)).map((s) => ({ id: s.id, merge: s.id, current: s.current }))]);
}

/** What the choices add to one measured model (default: the first). */
export function pyCost(m: OpenPyModel, choices: Map<string, VariantChoice>, view: PyModelView | undefined = m.views[0]): PlanCost {
  if (!view) throw new PlanError('the model is not measured yet: pricing needs one forward pass (its widths and parameter count)');
  return withIdleInstances(costPlan(costSites(view, choices), choices, view.params.total), view, choices);
}

/** Parameters a LaurelResidual holds before its first call (the width-sized ones are filled by that call). */
const eagerParams = (c: VariantChoice): number => (hasRw(c.variant) ? rwParams(c.options.rwNorm) : 0);

/**
 * A line under a condition (`out = out + self.shortcut(x) if self.stride == 1 else out`) runs in some instances
 * of its class only, but the rewrite gives every instance its LaurelResidual: the ones the pass never reached keep
 * their RW scalars (MobileNetV2's 3 strided blocks), which PyTorch counts. They join the price and the base.
 */
function withIdleInstances(cost: PlanCost, view: Pick<PyModelView, 'trace' | 'sites'>, choices: Map<string, VariantChoice>): PlanCost {
  const clsOf = new Map(view.trace.modules.map((x) => [x.path, x.cls]));
  // An applied line's add runs inside its LaurelResidual: the instance is the module that holds it.
  const holder = (path: string): string => (clsOf.get(path) === 'LaurelResidual' ? path.slice(0, Math.max(0, path.lastIndexOf('.'))) : path);
  let base = cost.baseParams;
  let added = cost.addedParams;
  const extra = new Map<string, number>();
  for (const s of view.sites) {
    const ran = new Set(view.trace.adds.filter((a) => a.residual && a.line === s.line).map((a) => holder(a.module)));
    const classes = new Set([...ran].map((path) => clsOf.get(path)));
    if (!ran.size || classes.has(undefined)) continue;
    const idle = view.trace.modules.filter((x) => classes.has(x.cls) && !ran.has(x.path)).length;
    base -= idle * eagerParams(s.current);
    const more = idle * eagerParams(choices.get(s.id) ?? s.current);
    added += more;
    if (more) extra.set(s.id, more);
  }
  if (base === cost.baseParams && added === cost.addedParams) return cost;
  const pct = (n: number): number => (base > 0 ? (n / base) * 100 : 0);
  // The idle instances' scalars join the line's first instance, so a line's rows add up to the total.
  const sites = cost.sites.map((c) => {
    const more = extra.get(c.site);
    if (more === undefined) return { ...c, percent: pct(c.params) };
    extra.delete(c.site);
    return { ...c, params: c.params + more, percent: pct(c.params + more) };
  });
  return { ...cost, sites, baseParams: base, addedParams: added, percent: pct(added) };
}

/** The model class a lens sits above: its parameters when the trace ran it. */
export function classFigures(m: OpenPyModel, cls: string): { instances: number; params: number } | null {
  if (!m.trace) return null;
  const mods = m.trace.modules.filter((x) => x.cls === cls);
  return mods.length ? { instances: mods.length, params: mods[0]!.params } : null;
}
