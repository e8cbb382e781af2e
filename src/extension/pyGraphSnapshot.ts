/**
 * The graph view's picture of a measured PyTorch .py model (pure: the panel sends it over postMessage and the
 * tests run it in plain Node). Built from the trace of one forward pass: a box per leaf-module call and per
 * functional op between them, an edge per tensor (its shape), the nn.Module calls as nested groups, and the
 * residual lines as sites whose shortcut edges (one per instance) switch together, as the source edit does.
 */
import { paTermsOf } from '../core/laurel/planCost';
import { variantLabel } from '../core/laurel/variants';
import type { VariantChoice, VariantOptions } from '../core/laurel/variants';
import { costSites, pyCost } from '../core/pysource/pyModel';
import type { OpenPyModel, PyModelView } from '../core/pysource/pyModel';
import { LineIndex } from '../core/pysource/pyStatic';
import type { PyTrace, TraceCall } from '../core/pysource/pyTrace';
import type { GraphEdge, GraphNode, GraphSite, GraphSnapshot } from '../protocol/webviewProtocol';
import { edgeId, shapeText } from './graphSnapshot';
import type { MeasureState } from './pyLensSpecs';

/** A first paint lays out at most about this many boxes: groups fold (repeated blocks first, then by depth) until it fits. */
export const FIRST_PAINT_BOXES = 150;

const baseName = (file: string): string => file.split(/[\\/]/).pop() || file;

/** A call drawn as one box: a leaf module, or a LaurelResidual (its inner calls are not drawn). */
const isBox = (c: TraceCall): boolean => c.leaf || c.cls === 'LaurelResidual';

/** A module's path below its group's ('transformer.h.0.attn.c_attn' in the group 'transformer.h.0.attn' is 'c_attn'). */
function relative(path: string, groupPath: string | undefined): string {
  if (!path) return '(model)';
  return groupPath && path.startsWith(`${groupPath}.`) ? path.slice(groupPath.length + 1) : path;
}

interface Built {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Trace node id → graph node id (undefined: a constant, not drawn). */
  owner: (string | undefined)[];
  /** Graph node id → (trace node id of an input → the edge carrying it). */
  inputEdges: Map<string, Map<number, string>>;
}

/**
 * The graph of a measured model; `options` are what a switch applies besides the menu's rank and k. `model` picks
 * one of several models of the file by its expression (`ResNet34()`); else the first, the one training uses.
 */
export function pyGraphSnapshot(m: OpenPyModel, options: VariantOptions, model?: string): GraphSnapshot {
  // That model's own residual lines and prices.
  const view = m.views.find((v) => v.name === model) ?? m.views[0];
  if (!view) throw new Error(`${baseName(m.fileName)} is not measured: its graph is drawn from one forward pass`);
  const t = view.trace;
  const built = buildGraph(m, t);
  const { nodes, edges, owner, inputEdges } = built;
  const byId = new Map(nodes.map((n) => [n.id, n]));

  const now = pyCost(m, new Map(), view);
  const base = now.baseParams;
  const paAny: VariantChoice = { variant: 'pa', options: { ...options, k: Number.MAX_SAFE_INTEGER } };
  const edgeById = new Map(edges.map((e) => [e.id, e]));
  const sites: GraphSite[] = [];
  for (const s of view.sites) {
    const instances = s.id.includes('.') ? [] : t.adds.filter((a) => a.residual && a.line === s.line);
    let first: { node: string; edge: string } | undefined;
    for (const a of instances) {
      const merge = owner[a.node];
      const shortcut = a.operands[a.shortcut ?? 1];
      const edge = merge === undefined ? undefined : inputEdges.get(merge)?.get(shortcut);
      if (merge === undefined || edge === undefined) continue; // the add runs inside one box (library code)
      byId.get(merge)!.residualSite = s.id;
      edgeById.get(edge)!.residual = s.id;
      first ??= { node: merge, edge };
    }
    const kinds = [...new Set(s.kinds)];
    const site: GraphSite = {
      id: s.id,
      merge: `${s.id}: ${s.code}`,
      node: first?.node ?? '',
      edge: first?.edge ?? '',
      width: s.widths[0] ?? null,
      kind: kinds.length === 1 && kinds[0] === 'identity' ? 'identity' : 'projection',
      current: { variant: s.current.variant, rank: s.current.options.rank, k: s.current.options.k, label: variantLabel(s.current) },
      branchNodes: [],
      widths: [...s.widths],
      paTermsList: paTermsPerInstance(view, s.id, paAny),
      line: s.line,
    };
    if (kinds.length > 1) site.kindText = kinds.join('+');
    if (!s.editable) site.readonly = s.reason ?? 'not editable in place';
    sites.push(site);
  }
  foldLargeModel(nodes);
  const top = t.modules[0];
  return {
    title: baseName(m.fileName),
    // Several models of one file can share a class (ResNet18() and ResNet34() are both ResNet): the expression tells them apart.
    name: m.views.length > 1 ? t.model : top?.cls ?? t.model,
    format: `PyTorch source, measured: model = ${t.model}; input = ${t.input} (torch ${t.torch})`,
    params: { ...t.params },
    lowerBound: false,
    nodes,
    edges,
    sites,
    options: { ...options },
    planDelta: { baseParams: base, addedParams: now.addedParams, percent: now.percent, switched: view.sites.filter((s) => s.current.variant !== 'plain').length },
    problems: [],
    origin: 'trace',
  };
}

/** PA terms each instance of line `id` could have at any k when that line alone is switched (its history), in pass order. */
function paTermsPerInstance(view: PyModelView, id: string, choice: VariantChoice): number[] {
  const all = costSites(view, new Map([[id, choice]]));
  return all.filter((c) => c.id === id).map((c) => paTermsOf(c, all, choice));
}

function buildGraph(m: OpenPyModel, t: PyTrace): Built {
  const idx = new LineIndex(m.text);
  const classLine = new Map(m.statics.classes.map((c) => [c.name, c.line]));
  const modules = new Map(t.modules.map((x) => [x.path, x]));
  const calls = t.calls;
  // Calls inside a LaurelResidual are its own business; calls of the model itself ('' path) are no group.
  const hidden = new Set<number>();
  for (const c of calls) if (c.parent !== null && (hidden.has(c.parent) || isBox(calls[c.parent]!))) hidden.add(c.id);
  const groupOf = (parent: number | null): TraceCall | undefined => {
    for (let p = parent; p !== null; p = calls[p]!.parent) if (calls[p]!.path !== '' && !hidden.has(p)) return calls[p];
    return undefined;
  };
  const seenCalls = new Map<string, number>();
  const callId = (c: TraceCall): string => {
    const n = seenCalls.get(c.path) ?? 0;
    seenCalls.set(c.path, n + 1);
    return n === 0 ? `m:${c.path}` : `m:${c.path}#${n + 1}`;
  };
  const code = (line: number | null): string => (line === null ? '' : idx.lineText(line).trim());
  const configOf = (line: number | null, extra: [string, string][]): [string, string][] => (line === null ? extra : [...extra, ['line', `${line}: ${code(line)}`]]);

  // Boxes and groups with their first trace node, to put them in the order the forward pass ran them.
  const placed: { key: number; node: GraphNode }[] = [];
  const owner: (string | undefined)[] = new Array(t.nodes.length).fill(undefined);
  const members = new Map<string, number[]>();
  const groupIds = new Map<number, string>();
  const firstCallOf = new Set<string>();
  for (const c of calls) {
    if (hidden.has(c.id) || (c.path === '' && !isBox(c))) continue;
    const box = isBox(c);
    if (box && c.ops[0] === c.ops[1]) continue; // no op of its own (nn.Identity, an empty Sequential): the tensor passes through
    const id = callId(c);
    const group = groupOf(c.parent);
    const mod = modules.get(c.path);
    const first = !firstCallOf.has(c.path);
    firstCallOf.add(c.path);
    const shared = box ? mod?.shared ?? 0 : 0;
    const params = !mod ? null : first ? mod.params - shared : 0;
    const lines = new Set<number>();
    if (c.line !== null) lines.add(c.line);
    const defLine = classLine.get(c.cls);
    if (defLine !== undefined) lines.add(defLine);
    const node: GraphNode = {
      id,
      layer: relative(c.path, group?.path),
      className: c.cls,
      outputShape: c.outputs.map((o) => shapeText(t.nodes[o]?.shape)).join(' | ') || '?',
      params,
      trainable: params,
      nonTrainable: params === null ? null : 0,
      config: configOf(c.line, [['module', c.path || '(the model)']]),
    };
    if (c.line !== null) node.line = c.line;
    if (group) node.parent = groupIds.get(group.id)!;
    if (!first) node.note = `another call of ${c.path} (its weights are counted at the first)`;
    else if (shared) node.note = `${shared.toLocaleString('en-US')} of its parameters are tied to an earlier module and counted there`;
    if (box) {
      const own: number[] = [];
      for (let i = c.ops[0]; i < c.ops[1]; i++) {
        owner[i] = id;
        own.push(i);
        const l = t.nodes[i]!.line;
        if (l !== null) lines.add(l);
      }
      members.set(id, own);
    } else {
      node.group = true;
      groupIds.set(c.id, id);
    }
    node.lines = [...lines].sort((a, b) => a - b);
    placed.push({ key: box ? c.ops[0] : c.ops[0] - 0.5, node });
  }
  // Functional ops between the boxes, and the inputs; constants (buffers, masks) are not drawn.
  const seenOps = new Map<string, number>();
  const callByPath = new Map<string, TraceCall>();
  for (const c of calls) if (!hidden.has(c.id) && !isBox(c) && !callByPath.has(c.path)) callByPath.set(c.path, c);
  let inputs = 0;
  for (const n of t.nodes) {
    if (owner[n.id] !== undefined || n.kind === 'const') continue;
    if (n.first !== undefined && owner[n.first] !== undefined) {
      owner[n.id] = owner[n.first];
      members.get(owner[n.id]!)!.push(n.id);
      continue;
    }
    const groupCall = n.module ? enclosingCall(t, n.id, n.module) ?? callByPath.get(n.module) : undefined;
    const group = groupCall && !hidden.has(groupCall.id) ? groupIds.get(groupCall.id) : undefined;
    const key = n.kind === 'input' ? 'input' : `${n.module}:${n.op}:${n.line ?? ''}`;
    const k = (seenOps.get(key) ?? 0) + 1;
    seenOps.set(key, k);
    const id = n.kind === 'input' ? (inputs++ === 0 ? 'input' : `input#${inputs}`) : k === 1 ? `op:${key}` : `op:${key}#${k}`;
    const node: GraphNode = {
      id,
      layer: n.kind === 'input' ? (inputs === 1 ? 'input' : `input ${inputs}`) : n.op,
      className: n.kind === 'input' ? 'Input' : n.line !== null ? `L${n.line}` : 'op',
      outputShape: shapeText(n.shape),
      params: 0,
      trainable: 0,
      nonTrainable: 0,
      config: configOf(n.line, [['dtype', n.dtype]]),
    };
    if (n.param) node.note = `reads a parameter of ${n.module || 'the model'} (counted in that module)`;
    if (group !== undefined) node.parent = group;
    if (n.line !== null) {
      node.line = n.line;
      node.lines = [n.line];
    }
    owner[n.id] = id;
    members.set(id, [n.id]);
    placed.push({ key: n.id, node });
  }
  placed.sort((a, b) => a.key - b.key);
  const nodes = placed.map((p) => p.node);
  // Edges: every tensor a box reads that another box made, once per tensor, in the order the box read them.
  const edges: GraphEdge[] = [];
  const inputEdges = new Map<string, Map<number, string>>();
  for (const node of nodes) {
    if (node.group) continue;
    const own = new Set(members.get(node.id) ?? []);
    const ins = new Map<number, string>();
    for (const i of members.get(node.id) ?? []) {
      for (const j of t.nodes[i]!.inputs) {
        const from = owner[j];
        if (own.has(j) || ins.has(j) || from === undefined || from === node.id) continue;
        const id = edgeId(node.id, ins.size);
        ins.set(j, id);
        edges.push({ id, from, to: node.id, shape: shapeText(t.nodes[j]!.shape) });
      }
    }
    inputEdges.set(node.id, ins);
  }
  return { nodes, edges, owner, inputEdges };
}

/** The innermost call of `module` that was running when node `id` was made (a module called twice has two). */
function enclosingCall(t: PyTrace, id: number, module: string): TraceCall | undefined {
  let best: TraceCall | undefined;
  for (const c of t.calls) if (c.path === module && c.ops[0] <= id && id < c.ops[1]) best = c;
  return best;
}

/**
 * Which groups start folded: every group of a class called more than once (nanoGPT's Blocks, ResNet's
 * BasicBlocks; not Sequential), then, while more than FIRST_PAINT_BOXES boxes would show, every open group of the shallowest depth.
 */
function foldLargeModel(nodes: GraphNode[]): void {
  const groups = nodes.filter((n) => n.group);
  const count = new Map<string, number>();
  for (const g of groups) count.set(g.className, (count.get(g.className) ?? 0) + 1);
  // Sequential is a container, not a block: ResNet's stages stay open, their BasicBlocks fold.
  for (const g of groups) if ((count.get(g.className) ?? 0) > 1 && g.className !== 'Sequential') g.folded = true;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = (n: GraphNode): number => {
    let d = 0;
    for (let p = n.parent; p !== undefined; p = byId.get(p)?.parent) d++;
    return d;
  };
  const visible = (): number => nodes.filter((n) => {
    for (let p = n.parent; p !== undefined; p = byId.get(p)?.parent) if (byId.get(p)?.folded) return false;
    return true;
  }).length;
  for (let d = 0, max = Math.max(0, ...groups.map(depth)); d <= max && visible() > FIRST_PAINT_BOXES; d++) {
    for (const g of groups) if (depth(g) === d) g.folded = true;
  }
}

/** What the view says instead of a graph (the last graph stays drawn under it when there was one). */
export function unmeasuredText(name: string, state: MeasureState, allowed: boolean): string {
  switch (state.kind) {
    case 'running':
      return `Measuring ${name}: one forward pass in Python…`;
    case 'failed': {
      const e = state.error;
      return `${name} could not be measured (${e.phase}${e.line ? `, line ${e.line}` : ''}): ${e.message}`;
    }
    case 'none':
      if (!state.trusted) return `The graph of ${name} is drawn from one forward pass of the file in Python, which runs its code: trust this workspace first (Workspaces: Manage Workspace Trust), then open the graph again.`;
      if (!allowed) return `The graph of ${name} is drawn from one forward pass of the file in Python: allow measuring (LAuReL: Measure PyTorch Model (one forward pass), or Open Graph again).`;
      return `${name} changed since it was measured: the graph redraws after the next measurement (on save, or LAuReL: Measure PyTorch Model (one forward pass)).`;
    default:
      return '';
  }
}
