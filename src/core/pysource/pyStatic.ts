/**
 * What a PyTorch .py source says without running it: the nn.Module classes, the adds in their `forward`
 * (with the candidate residuals among them), the LAuReL modules an earlier apply put there, and where an
 * `__init__` line and the import go. Parsed by @lezer/python (a real, error-tolerant Python grammar).
 */
import type { SyntaxNode, Tree } from '@lezer/common';
import { parseLaurelCall } from './pyLaurelText';
import { readPyOptions } from './pyOptions';
import { parsePyText } from './pyRanges';
import { runSliced } from './sliced';
import type { VariantChoice } from '../laurel/variants';

export interface Span {
  from: number;
  to: number;
  text: string;
}

/** One `a + b` in a forward. */
export interface PyAdd {
  /** 1-based line of the `+`. */
  line: number;
  expr: Span;
  left: Span;
  right: Span;
  /** The statement form: `a = b + c`, `a += b`, `return a + b`, or an add nested in a larger expression. */
  form: 'assign' | 'augassign' | 'return' | 'nested';
  /** What an edit replaces: the add itself, or for `a += b` the whole statement. */
  replace: Span;
  target?: string;
  /** `a = a + f(..)`, `a += f(..)`, `return a + f(..)`, `a = b + c` where both come from one input. */
  candidate: boolean;
  /** Which operand looks like the shortcut (fewer calls since the input); the trace decides when there is one. */
  shortcutGuess: 0 | 1;
  /** A name for its LAuReL module: the branch's `self.NAME(..)`, else the assigned variable. */
  nameHint: string;
}

/** A `self.laurel_NAME(branch, shortcut)` call an earlier apply wrote, and its `__init__` line. */
export interface PyLaurelSite {
  line: number;
  name: string;
  call: Span;
  /** The statement holding the call (an `a += b` site is reverted as a whole statement). */
  stmt: Span;
  branch: Span;
  shortcut: Span;
  choice: VariantChoice | null;
  /** The whole `__init__` line (with its newline) and the original text it records. */
  initLine: Span | null;
  replaces: string | null;
}

export interface PyClass {
  name: string;
  line: number;
  bases: string[];
  /** Where an `__init__` line goes (the start of the line after `super().__init__()`) and its indent. */
  initInsert: { offset: number; indent: string } | null;
  /** The constructor takes no required argument. */
  noArgInit: boolean;
  forwardLine: number | null;
  adds: PyAdd[];
  laurel: PyLaurelSite[];
  /** `self.X` names assigned in `__init__` (to keep new module names unique). */
  attrs: Set<string>;
}

export interface PyStatic {
  classes: PyClass[];
  /** Offset where the LAuReL import block goes: the start of the line after the last top-level import. */
  importAt: number;
  /** The laurel comment `# laurel: model = ...; input = ...` if present. */
  comment: { line: number; model?: string; input?: string } | null;
}

const META = new Set(['size', 'dim', 'numel', 'shape', 'device', 'dtype', 'ndim', 'is_cuda']);

export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  /** 1-based line of an offset. */
  line(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
  lineStart(line: number): number {
    return this.starts[line - 1] ?? this.text.length;
  }
  lineEnd(line: number): number {
    return this.starts[line] ?? this.text.length;
  }
  lineText(line: number): string {
    return this.text.slice(this.lineStart(line), this.lineEnd(line)).replace(/\r?\n$/, '');
  }
}

const kids = (n: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
};

/** `tree`: the text's parse when the caller has it (an incremental reparse, `PyParseCache`). */
export function parsePySource(text: string, tree: Tree = parsePyText(text)): PyStatic {
  const steps = readSource(text, tree);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The same in slices: `pause()` is awaited between classes once a slice has run `sliceMs` (see parsePyTextSliced). */
export function parsePySourceSliced(text: string, tree: Tree, sliceMs: number, pause: () => Promise<void>): Promise<PyStatic> {
  return runSliced(readSource(text, tree), sliceMs, pause);
}

/** The reading of parsePySource, a step per class (the caller may pause between them). */
function* readSource(text: string, tree: Tree): Generator<void, PyStatic> {
  const idx = new LineIndex(text);
  const span = (n: SyntaxNode): Span => ({ from: n.from, to: n.to, text: text.slice(n.from, n.to) });
  yield;
  const top = kids(tree.topNode);
  yield;
  let importAt = 0;
  for (const n of top) {
    if (n.name === 'ImportStatement') importAt = idx.lineEnd(idx.line(n.to));
    if (n.name === 'ClassDefinition' || n.name === 'FunctionDefinition' || n.name === 'DecoratedStatement') break;
  }
  const classDefs = top.flatMap((n) => (n.name === 'DecoratedStatement' ? kids(n) : [n])).filter((n) => n.name === 'ClassDefinition');
  const bases = new Map<string, string[]>();
  for (const c of classDefs) {
    yield;
    const name = c.getChild('VariableName');
    const args = c.getChild('ArgList');
    const list = args ? kids(args).filter((k) => !/^[(),]$/.test(k.name)).map((k) => text.slice(k.from, k.to)) : [];
    if (name) bases.set(text.slice(name.from, name.to), list);
  }
  // nn.Module subclasses: a base ending in Module, or (transitively) another such class of the file.
  const isModule = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, bs] of bases) {
      if (!isModule.has(name) && bs.some((b) => /(^|\.)Module$/.test(b) || isModule.has(b))) {
        isModule.add(name);
        changed = true;
      }
    }
  }
  const classes: PyClass[] = [];
  for (const c of classDefs) {
    const nameNode = c.getChild('VariableName');
    const name = nameNode ? text.slice(nameNode.from, nameNode.to) : '';
    if (!isModule.has(name)) continue;
    yield;
    classes.push(readClass(c, name, bases.get(name) ?? [], text, idx, span));
  }
  return { classes, importAt, comment: laurelComment(text) };
}

function laurelComment(text: string): PyStatic['comment'] {
  // The same reader as training's options (pyOptions.ts); the trace reads model and input alike.
  const o = readPyOptions(text);
  if (o.line === null) return null;
  const { model, input } = o.values;
  return { line: o.line, ...(model ? { model: model.value } : {}), ...(input ? { input: input.value } : {}) };
}

function readClass(c: SyntaxNode, name: string, bs: string[], text: string, idx: LineIndex, span: (n: SyntaxNode) => Span): PyClass {
  const body = c.getChild('Body');
  const methods = body ? kids(body).flatMap((n) => (n.name === 'DecoratedStatement' ? kids(n) : [n])).filter((n) => n.name === 'FunctionDefinition') : [];
  const method = (m: string): SyntaxNode | undefined => methods.find((f) => { const v = f.getChild('VariableName'); return v && text.slice(v.from, v.to) === m; });
  const init = method('__init__');
  const forward = method('forward');
  const cls: PyClass = { name, line: idx.line(c.from), bases: bs, initInsert: null, noArgInit: !init, forwardLine: forward ? idx.line(forward.from) : null, adds: [], laurel: [], attrs: new Set() };
  const inits = new Map<string, { line: Span; call: SyntaxNode; comment: string | null }>();
  if (init) {
    const params = init.getChild('ParamList');
    // Required parameters beyond self: names not followed by '=' and not *args / **kwargs.
    const plist = params ? kids(params).filter((k) => !/^[(),]$/.test(k.name)) : [];
    let required = 0;
    for (let i = 1; i < plist.length; i++) {
      const k = plist[i];
      if (k?.name === 'VariableName' && plist[i + 1]?.name !== 'AssignOp' && plist[i - 1]?.name !== 'AssignOp' && !/^\*/.test(text.slice(plist[i - 1]?.from ?? 0, k.from).trim())) required++;
    }
    cls.noArgInit = required === 0;
    const ibody = init.getChild('Body');
    const stmts = ibody ? kids(ibody) : [];
    for (const s of stmts) {
      const t = text.slice(s.from, s.to);
      if (s.name === 'ExpressionStatement' && /^super\s*\([^)]*\)\s*\.\s*__init__\s*\(/.test(t) && !cls.initInsert) {
        const line = idx.line(s.to);
        cls.initInsert = { offset: idx.lineEnd(line), indent: /^[ \t]*/.exec(idx.lineText(idx.line(s.from)))?.[0] ?? '' };
      }
      walk(s, (n) => {
        if (n.name === 'AssignStatement') {
          const first = n.firstChild;
          const m = first ? /^self\.(\w+)$/.exec(text.slice(first.from, first.to)) : null;
          if (m?.[1]) cls.attrs.add(m[1]);
          const value = n.lastChild;
          if (m?.[1] && value?.name === 'CallExpression' && /^LaurelResidual\b/.test(text.slice(value.from, value.to))) {
            const line = idx.line(n.from);
            const lineText = idx.lineText(line);
            const cm = /#\s*laurel replaces:\s*(".*")\s*$/.exec(lineText);
            inits.set(m[1], { line: { from: idx.lineStart(line), to: idx.lineEnd(line), text: text.slice(idx.lineStart(line), idx.lineEnd(line)) }, call: value, comment: cm?.[1] ?? null });
          }
        }
      });
    }
    if (!cls.initInsert && stmts.length) {
      const firstStmt = stmts.find((s) => !/^[:]$/.test(s.name));
      if (firstStmt) cls.initInsert = { offset: idx.lineStart(idx.line(firstStmt.from)), indent: /^[ \t]*/.exec(idx.lineText(idx.line(firstStmt.from)))?.[0] ?? '' };
    }
  }
  if (forward) readForward(forward, cls, text, idx, span, inits);
  return cls;
}

function walk(n: SyntaxNode, f: (n: SyntaxNode) => void | false): void {
  if (f(n) === false) return;
  for (let c = n.firstChild; c; c = c.nextSibling) walk(c, f);
}

/** Data flow inside forward: which parameters each local name derives from, and how many calls away. */
function readForward(fn: SyntaxNode, cls: PyClass, text: string, idx: LineIndex, span: (n: SyntaxNode) => Span, inits: Map<string, { line: Span; call: SyntaxNode; comment: string | null }>): void {
  const deps = new Map<string, { from: Set<string>; calls: number }>();
  const params = fn.getChild('ParamList');
  for (const p of params ? kids(params).filter((k) => k.name === 'VariableName').slice(1) : []) deps.set(text.slice(p.from, p.to), { from: new Set([text.slice(p.from, p.to)]), calls: 0 });
  // What an expression derives from, skipping metadata (x.size(), x.shape) and self.attributes.
  const flow = (e: SyntaxNode): { from: Set<string>; calls: number } => {
    const from = new Set<string>();
    let calls = 0;
    let varCalls = -1;
    walk(e, (n) => {
      if (n.name === 'MemberExpression' || n.name === 'CallExpression') {
        const prop = n.name === 'MemberExpression' ? n.getChild('PropertyName') : n.firstChild?.getChild('PropertyName');
        if (prop && META.has(text.slice(prop.from, prop.to))) return false;
      }
      if (n.name === 'CallExpression') calls++;
      if (n.name === 'VariableName') {
        const d = deps.get(text.slice(n.from, n.to));
        if (d) {
          for (const s of d.from) from.add(s);
          varCalls = Math.max(varCalls, d.calls);
        }
      }
      return undefined;
    });
    return { from, calls: calls + Math.max(varCalls, 0) };
  };
  const targets = (n: SyntaxNode): SyntaxNode[] => {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c && c.name !== 'AssignOp' && c.name !== 'UpdateOp'; c = c.nextSibling) if (c.name === 'VariableName') out.push(c);
    return out;
  };
  walk(fn.getChild('Body') ?? fn, (n) => {
    if (n.name === 'FunctionDefinition' || n.name === 'ClassDefinition' || n.name === 'LambdaExpression') return false;
    if (n.name === 'AssignStatement' || n.name === 'UpdateStatement' || n.name === 'ReturnStatement' || n.name === 'ExpressionStatement') {
      statement(n);
      const value = n.lastChild;
      if (n.name === 'AssignStatement' && value) {
        const d = flow(value);
        for (const t of targets(n)) deps.set(text.slice(t.from, t.to), d);
      } else if (n.name === 'UpdateStatement' && value) {
        const t = n.firstChild;
        const name = t ? text.slice(t.from, t.to) : '';
        const prev = deps.get(name);
        const d = flow(value);
        deps.set(name, { from: new Set([...(prev?.from ?? []), ...d.from]), calls: Math.max(prev?.calls ?? 0, d.calls) });
      }
      return false;
    }
    if (n.name === 'ForStatement') {
      const v = n.getChild('VariableName');
      if (v) deps.set(text.slice(v.from, v.to), { from: new Set(), calls: 0 });
    }
    return undefined;
  });

  function statement(s: SyntaxNode): void {
    walk(s, (n) => {
      if (n.name === 'LambdaExpression') return false;
      if (n.name === 'CallExpression') laurelCall(n, s);
      if (n.name === 'BinaryExpression' && n.getChild('ArithOp') && text.slice(n.getChild('ArithOp')!.from, n.getChild('ArithOp')!.to) === '+') binary(n, s);
      return undefined;
    });
    if (s.name === 'UpdateStatement') {
      const op = s.getChild('UpdateOp');
      const t = s.firstChild;
      const v = s.lastChild;
      if (op && t && v && text.slice(op.from, op.to) === '+=' && t.name === 'VariableName') add(s, t, v, 'augassign', s);
    }
  }

  function binary(b: SyntaxNode, s: SyntaxNode): void {
    const l = b.firstChild;
    const r = b.lastChild;
    if (!l || !r) return;
    const direct = b.parent === s;
    const form = direct && s.name === 'AssignStatement' ? 'assign' : direct && s.name === 'ReturnStatement' ? 'return' : 'nested';
    add(b, l, r, form, s);
  }

  function add(expr: SyntaxNode, l: SyntaxNode, r: SyntaxNode, form: PyAdd['form'], s: SyntaxNode): void {
    const fl = flow(l);
    const fr = flow(r);
    const shared = [...fl.from].some((x) => fr.from.has(x));
    const learned = fl.calls > 0 || fr.calls > 0;
    const target = form === 'assign' || form === 'augassign' ? (targets(s).length === 1 ? text.slice(targets(s)[0]!.from, targets(s)[0]!.to) : undefined) : undefined;
    const bare = (n: SyntaxNode): boolean => n.name === 'VariableName';
    const shortcutGuess: 0 | 1 = fl.calls < fr.calls ? 0 : fr.calls < fl.calls ? 1 : bare(l) && !bare(r) ? 0 : 1;
    const branch = shortcutGuess === 0 ? r : l;
    const selfCall = /^self\.(\w+)\s*\(/.exec(text.slice(branch.from, branch.to));
    cls.adds.push({
      line: idx.line(expr.from),
      expr: span(expr),
      left: span(l),
      right: span(r),
      form,
      replace: span(form === 'augassign' ? s : expr),
      ...(target ? { target } : {}),
      candidate: shared && learned && (l.name !== 'BinaryExpression' || form === 'nested'),
      shortcutGuess,
      nameHint: selfCall?.[1] ?? target ?? `res${idx.line(expr.from)}`,
    });
  }

  function laurelCall(n: SyntaxNode, s: SyntaxNode): void {
    const m = /^self\.(laurel_\w+)$/.exec(text.slice(n.firstChild?.from ?? 0, n.firstChild?.to ?? 0));
    const args = n.getChild('ArgList');
    const list = args ? kids(args).filter((k) => !/^[(),]$/.test(k.name)) : [];
    if (!m?.[1] || list.length !== 2) return;
    const init = inits.get(m[1]);
    let replaces: string | null = null;
    try {
      const v: unknown = init?.comment ? JSON.parse(init.comment) : null;
      replaces = typeof v === 'string' ? v : null;
    } catch {
      replaces = null;
    }
    cls.laurel.push({
      line: idx.line(n.from),
      name: m[1],
      call: span(n),
      stmt: span(s),
      branch: span(list[0]!),
      shortcut: span(list[1]!),
      choice: init ? parseLaurelCall(text.slice(init.call.from, init.call.to)) : null,
      initLine: init?.line ?? null,
      replaces,
    });
  }
}
