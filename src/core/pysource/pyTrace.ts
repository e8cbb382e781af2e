/**
 * The JSON that src/python/laurel_trace.py prints for one forward pass (schema version 1), and its check:
 * the trace comes from another process running the user's code, so every field is validated before use.
 */

export interface TraceNode {
  id: number;
  /** The torch function (`linear`, `add`, `split`, ...), or `input`, `const` (a tensor first seen as an argument: a buffer, a constant), `laurel`. */
  op: string;
  kind: 'input' | 'op' | 'const';
  /** Node ids of the tensor arguments (parameters are not nodes). */
  inputs: number[];
  shape: number[] | null;
  dtype: string;
  /** The innermost module call running it ('' at the top level), a dotted path as named_modules() names it. */
  module: string;
  /** 1-based line in the file of the innermost stack frame inside it; null when none is. */
  line: number | null;
  /** The op reads a parameter (f is learned). */
  param: boolean;
  /** Set on the 2nd, 3rd, ... output of one call (split, chunk): the node id of its first output. */
  first?: number;
}

export interface TraceCall {
  id: number;
  path: string;
  cls: string;
  /** The module's class is defined in the file itself. */
  inFile: boolean;
  leaf: boolean;
  line: number | null;
  inputs: number[];
  outputs: number[];
  parent: number | null;
  /** Node ids [first, end) created during the call. */
  ops: [number, number];
}

export interface TraceAdd {
  node: number;
  line: number | null;
  operands: [number, number];
  shapes: [number[] | null, number[] | null];
  residual: boolean;
  /** The operands' latest common ancestor. */
  fork: number | null;
  /** Which operand is the shortcut. */
  shortcut: 0 | 1 | null;
  shortcutKind: 'identity' | 'projection' | null;
  width: number | null;
  /** 1: channels of an NCHW map; -1: the last axis. */
  axis: 1 | -1 | null;
  positions: number | null;
  module: string;
  /** The library module class the add runs inside (e.g. TransformerEncoderLayer), null for the file's own code. */
  library: string | null;
  /** A LaurelResidual call: its settings and the PA terms it made (x_i and its earlier activations, at most k). */
  laurel: { variant: string; rank: number | null; k: number; rwNorm: string; terms?: number | null } | null;
}

export interface TraceModule {
  path: string;
  cls: string;
  /** Parameters of the module and its children (a tied weight once). */
  params: number;
  own: number;
  /** Of `own`, the parameters an earlier module (named_modules() order) holds too: tied weights. */
  shared?: number;
}

export interface TraceError {
  phase: 'import' | 'model' | 'input' | 'forward' | 'timeout' | 'torch' | 'python';
  message: string;
  line: number | null;
}

export interface PyTrace {
  version: 1;
  file: string;
  torch: string;
  model: string;
  input: string;
  params: { total: number; trainable: number; nonTrainable: number };
  outputs: number[];
  nodes: TraceNode[];
  calls: TraceCall[];
  modules: TraceModule[];
  adds: TraceAdd[];
}

export type TraceResult = { ok: true; trace: PyTrace } | { ok: false; error: TraceError };

/** One model of a file measured with `--all`: its trace, or why it could not be measured (`model`: its expression). */
export type ModelResult = { ok: true; trace: PyTrace } | { ok: false; error: TraceError; model: string | null };

/** Every model of a file (`--all`), or the error that stopped all of them (the file does not import, no torch). */
export type TraceSetResult = { ok: true; models: ModelResult[] } | { ok: false; error: TraceError };

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isLine = (v: unknown): boolean => v === null || (isInt(v) && v >= 1);

/** Checks the tracer's JSON (one line of stdout); a malformed answer is a TraceError, never a throw. */
export function parseTrace(stdout: string): TraceResult {
  const v = lastJson(stdout);
  return 'fail' in v ? v.fail : checkTrace(v.value);
}

/** The answer of `--all`: one checked trace or error per model. */
export function parseTraceSet(stdout: string): TraceSetResult {
  const v = lastJson(stdout);
  if ('fail' in v) return v.fail;
  const o = v.value;
  if (o['error'] || !Array.isArray(o['models'])) {
    const r = checkTrace(o);
    return r.ok ? malformed('models') : r;
  }
  const models = (o['models'] as unknown[]).map((x): ModelResult => {
    const r = checkTrace(typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : {});
    const model = (x as Record<string, unknown> | null)?.['model'];
    return r.ok ? r : { ...r, model: typeof model === 'string' ? model : null };
  });
  return { ok: true, models };
}

const malformed = (what: string): { ok: false; error: TraceError } => ({ ok: false, error: { phase: 'python', message: `the tracer's answer is malformed (${what})`, line: null } });

/** The last stdout line as an object, or the malformed error. */
function lastJson(stdout: string): { value: Record<string, unknown> } | { fail: { ok: false; error: TraceError } } {
  const last = stdout.trim().split('\n').pop() ?? '';
  let v: unknown;
  try {
    v = JSON.parse(last);
  } catch {
    return { fail: malformed('not JSON') };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { fail: malformed('not an object') };
  return { value: v as Record<string, unknown> };
}

/** One trace or error object, field by field. */
function checkTrace(o: Record<string, unknown>): TraceResult {
  const bad = (what: string): TraceResult => malformed(what);
  if (o['error']) {
    const e = o['error'] as Record<string, unknown>;
    const phases = ['import', 'model', 'input', 'forward', 'timeout', 'torch', 'python'];
    if (typeof e['message'] !== 'string' || !phases.includes(String(e['phase'])) || !isLine(e['line'])) return bad('error');
    return { ok: false, error: { phase: e['phase'] as TraceError['phase'], message: e['message'], line: (e['line'] as number | null) ?? null } };
  }
  if (o['version'] !== 1) return bad('version');
  const p = o['params'] as Record<string, unknown> | undefined;
  if (!p || !isInt(p['total']) || !isInt(p['trainable']) || !isInt(p['nonTrainable'])) return bad('params');
  const nodes = o['nodes'];
  const adds = o['adds'];
  const calls = o['calls'];
  if (!Array.isArray(nodes) || !Array.isArray(adds) || !Array.isArray(calls) || !Array.isArray(o['modules'])) return bad('lists');
  const n = nodes.length;
  const nodeOk = (x: unknown): boolean => isInt(x) && x >= 0 && x < n;
  for (const [i, node] of (nodes as Record<string, unknown>[]).entries()) {
    if (node['id'] !== i || typeof node['op'] !== 'string' || !Array.isArray(node['inputs']) || !(node['inputs'] as unknown[]).every(nodeOk) || !isLine(node['line'])) return bad(`node ${i}`);
    if (node['shape'] !== null && !(Array.isArray(node['shape']) && (node['shape'] as unknown[]).every(isInt))) return bad(`node ${i} shape`);
  }
  for (const [i, a] of (adds as Record<string, unknown>[]).entries()) {
    const ops = a['operands'];
    if (!nodeOk(a['node']) || !Array.isArray(ops) || ops.length !== 2 || !ops.every(nodeOk) || !isLine(a['line']) || typeof a['residual'] !== 'boolean') return bad(`add ${i}`);
    if (a['residual'] && (!(a['shortcut'] === 0 || a['shortcut'] === 1) || !(a['width'] === null || (isInt(a['width']) && a['width'] > 0)))) return bad(`add ${i} residual`);
  }
  for (const [i, c] of (calls as Record<string, unknown>[]).entries()) {
    if (c['id'] !== i || typeof c['path'] !== 'string' || typeof c['cls'] !== 'string' || !isLine(c['line'])) return bad(`call ${i}`);
  }
  return { ok: true, trace: o as unknown as PyTrace };
}
