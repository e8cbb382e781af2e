// docs/ARCHITECTURE.md's "Folders and import rules" table, enforced: every import in src/ and webview/ (read
// with the TypeScript compiler's own import scanner) must be allowed by its folder's row, and no file may
// reach itself through imports (type-only imports included: a circle of types is still a circle).
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/** One row of the table: files under `folder` may import their own folder and what `allowed` lists. */
export interface ImportRule {
  folder: string;
  /** Repository paths: a folder ends with '/', anything else is one file. */
  paths: string[];
  /** Package names (`@scope/name` or `name`), or `node:*` for Node's built-in modules. */
  packages: string[];
}

export interface ImportEdge {
  from: string;
  /** As written in the file. */
  spec: string;
  /** The repository file it resolves to (relative imports), or undefined for a package. */
  to?: string;
}

function repoRoot(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'docs', 'ARCHITECTURE.md')) && existsSync(join(dir, 'src'))) return dir;
  }
  throw new Error(`the repository (docs/ARCHITECTURE.md) not found above ${__dirname}`);
}

/** The rows of the table under the "Folders and import rules" heading; folder and third column in backticks. */
export function parseRules(markdown: string): ImportRule[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Folders and import rules'));
  if (!section) throw new Error("docs/ARCHITECTURE.md has no '## Folders and import rules' section");
  const rows = section.split('\n').filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l)).slice(1);
  return rows.map((row) => {
    const cells = row.split('|').slice(1, -1).map((c) => c.trim());
    const folder = /^`([^`]+\/)`$/.exec(cells[0] ?? '')?.[1];
    if (!folder || cells.length !== 3) throw new Error(`import table row is not '| \`folder/\` | what | may import |': ${row}`);
    const tokens = [...cells[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const isPath = (t: string): boolean => t.startsWith('src/') || t.startsWith('webview/');
    return { folder, paths: tokens.filter(isPath), packages: tokens.filter((t) => !isPath(t)) };
  });
}

const packageName = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** The row that governs `file`: the longest folder that holds it. */
export function ruleFor(rules: readonly ImportRule[], file: string): ImportRule | undefined {
  return rules.filter((r) => file.startsWith(r.folder)).sort((a, b) => b.folder.length - a.folder.length)[0];
}

/** What breaks the rules, one line per import ('file: imports X, which its row (folder) does not allow'). */
export function violations(rules: readonly ImportRule[], edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const rule = ruleFor(rules, e.from);
    if (!rule) {
      out.push(`${e.from}: no row of the import table covers this folder`);
      continue;
    }
    const ok = e.to
      ? e.to.startsWith(rule.folder) || rule.paths.some((p) => (p.endsWith('/') ? e.to!.startsWith(p) : e.to === p))
      : rule.packages.includes(packageName(e.spec)) || (e.spec.startsWith('node:') && rule.packages.includes('node:*'));
    if (!ok) out.push(`${e.from}: imports '${e.spec}'${e.to ? ` (${e.to})` : ''}, which the row of ${rule.folder} does not allow`);
  }
  return out;
}

/** Every import circle among the files, each as 'a → b → … → a' (one per strongly connected group). */
export function importCycles(edges: readonly ImportEdge[]): string[] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (e.to) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  // Tarjan's strongly connected components, iteratively (no recursion limit on long chains).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  for (const root of [...next.keys()].sort()) {
    if (index.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    while (work.length) {
      const top = work[work.length - 1]!;
      const [v, i] = top;
      if (i === 0 && !index.has(v)) {
        index.set(v, index.size);
        low.set(v, index.get(v)!);
        stack.push(v);
        onStack.add(v);
      }
      const ws = next.get(v) ?? [];
      if (i < ws.length) {
        top[1]++;
        const w = ws[i]!;
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]![0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const group: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          group.push(w);
        } while (w !== v);
        if (group.length > 1 || (next.get(v) ?? []).includes(v)) groups.push(group);
      }
    }
  }
  // One concrete circle per group: the shortest way from its first file back to itself (breadth first).
  return groups.map((group) => {
    const inGroup = new Set(group);
    const start = [...group].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | undefined;
    while (queue.length && !end) {
      const v = queue.shift()!;
      for (const w of next.get(v) ?? []) {
        if (!inGroup.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    return [...path, start].join(' → ');
  });
}

/** TypeScript and JavaScript sources under `dir` (declarations and test fixtures aside). */
function codeFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'node_modules') codeFiles(p, out);
    } else if (/\.(ts|mts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const repoPath = (root: string, p: string): string => relative(root, p).split('\\').join('/');

/** Every import, export-from, dynamic import() and require() of the code in the repository's `dirs`. */
export function readImports(root: string, dirs: readonly string[] = ['src', 'webview']): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of dirs.flatMap((d) => codeFiles(join(root, d)))) {
    const from = repoPath(root, file);
    for (const { fileName: spec } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!spec.startsWith('.')) {
        edges.push({ from, spec });
        continue;
      }
      const base = resolve(dirname(file), spec);
      const target = [`${base}.ts`, join(base, 'index.ts'), base].find((c) => existsSync(c) && statSync(c).isFile());
      if (!target) throw new Error(`${from}: import '${spec}' resolves to no file`);
      edges.push({ from, spec, to: repoPath(root, target) });
    }
  }
  return edges;
}

/** The imports between src/python's modules (`import x`, `from x import y` at a line's start, x a file there). */
export function readPythonImports(root: string): ImportEdge[] {
  const dir = join(root, 'src', 'python');
  const modules = new Set(readdirSync(dir).filter((f) => f.endsWith('.py')).map((f) => f.slice(0, -3)));
  return [...modules].sort().flatMap((m) =>
    [...readFileSync(join(dir, `${m}.py`), 'utf8').matchAll(/^[ \t]*(?:from[ \t]+(\w+)[ \t]+import\b|import[ \t]+(\w+(?:[ \t]*,[ \t]*\w+)*))/gm)]
      .flatMap((x) => (x[1] ? [x[1]] : x[2]!.split(',').map((n) => n.trim())))
      .filter((n) => modules.has(n))
      .map((n) => ({ from: `src/python/${m}.py`, spec: n, to: `src/python/${n}.py` })),
  );
}

/** Allowances of the table that no file of their row's folder uses: the table says more than the code does. */
export function unusedAllowances(rules: readonly ImportRule[], edges: readonly ImportEdge[]): string[] {
  const used = new Set<string>();
  for (const e of edges) {
    const rule = ruleFor(rules, e.from);
    if (!rule) continue;
    const key = e.to
      ? rule.paths.find((p) => (p.endsWith('/') ? e.to!.startsWith(p) : e.to === p))
      : e.spec.startsWith('node:') ? 'node:*' : packageName(e.spec);
    if (key) used.add(`${rule.folder} ${key}`);
  }
  return rules.flatMap((r) => [...r.paths, ...r.packages].filter((a) => !used.has(`${r.folder} ${a}`)).map((a) => `${r.folder}: \`${a}\``));
}

describe('import rules (docs/ARCHITECTURE.md)', () => {
  const root = repoRoot();
  const rules = parseRules(readFileSync(join(root, 'docs', 'ARCHITECTURE.md'), 'utf8'));
  const edges = readImports(root);
  // Circles are looked for everywhere: bench/, test/ and scripts/ follow no table, and src/python's modules import each other.
  const everyEdge = [...edges, ...readImports(root, ['bench', 'test', 'scripts']), ...readPythonImports(root)];

  it('reads the table and the imports', () => {
    assert.ok(rules.length >= 10, `${rules.length} rows`);
    for (const f of ['src/core/', 'src/trainer/', 'src/protocol/', 'src/extension/', 'webview/']) assert.ok(rules.some((r) => r.folder === f), f);
    // The scanner sees every form: type-only imports, require() and files imported as text.
    assert.ok(edges.some((e) => e.from === 'src/trainer/run.ts' && e.to === 'src/protocol/backends.ts'));
    assert.ok(edges.some((e) => e.from === 'src/trainer/backend.ts' && e.spec === '@tensorflow/tfjs-node'));
    assert.ok(edges.some((e) => e.to?.startsWith('src/python/') && e.to.endsWith('.py')));
  });

  it('every import is allowed by its folder’s row', () => {
    const bad = violations(rules, edges);
    assert.deepEqual(bad, [], `imports the table does not allow (change the code, or the table with a reason):\n${bad.join('\n')}`);
  });

  it('the table allows nothing its folders do not use', () => {
    const unused = unusedAllowances(rules, edges);
    assert.deepEqual(unused, [], `allowances of the import table no file uses (remove them from docs/ARCHITECTURE.md):\n${unused.join('\n')}`);
  });

  it('no import circles (src/, webview/, bench/, test/, scripts/, and between src/python modules)', () => {
    assert.ok(everyEdge.some((e) => e.from.startsWith('bench/')) && everyEdge.some((e) => e.from.startsWith('scripts/')) && everyEdge.some((e) => e.from.startsWith('test/')));
    assert.ok(everyEdge.some((e) => e.from === 'src/python/laurel_train.py' && e.to === 'src/python/laurel_train_steps.py'));
    const cycles = importCycles(everyEdge);
    assert.deepEqual(cycles, [], `import circles:\n${cycles.join('\n')}`);
  });

  it('the checks catch what they are for', () => {
    const r: ImportRule[] = [
      { folder: 'src/core/', paths: [], packages: ['jsonc-parser'] },
      { folder: 'src/trainer/', paths: ['src/core/', 'src/protocol/backends.ts'], packages: ['node:*', '@tensorflow/tfjs'] },
    ];
    const e = (from: string, spec: string, to?: string): ImportEdge => ({ from, spec, ...(to ? { to } : {}) });
    assert.deepEqual(
      violations(r, [
        e('src/core/a.ts', '../trainer/x', 'src/trainer/x.ts'),
        e('src/core/a.ts', 'node:fs'),
        e('src/core/a.ts', 'jsonc-parser/lib/esm/main.js'),
        e('src/trainer/t.ts', '../protocol/backends', 'src/protocol/backends.ts'),
        e('src/trainer/t.ts', '../protocol/runRecords', 'src/protocol/runRecords.ts'),
        e('src/trainer/t.ts', '@tensorflow/tfjs-node'),
        e('src/trainer/t.ts', 'node:path'),
        e('src/cli/main.ts', '../core/model', 'src/core/model.ts'),
      ]),
      [
        "src/core/a.ts: imports '../trainer/x' (src/trainer/x.ts), which the row of src/core/ does not allow",
        "src/core/a.ts: imports 'node:fs', which the row of src/core/ does not allow",
        "src/trainer/t.ts: imports '../protocol/runRecords' (src/protocol/runRecords.ts), which the row of src/trainer/ does not allow",
        "src/trainer/t.ts: imports '@tensorflow/tfjs-node', which the row of src/trainer/ does not allow",
        'src/cli/main.ts: no row of the import table covers this folder',
      ],
    );
    const link = (from: string, to: string): ImportEdge => ({ from, spec: to, to });
    assert.deepEqual(importCycles([link('a', 'b'), link('b', 'c'), link('c', 'a'), link('c', 'd'), link('d', 'e')]), ['a → b → c → a']);
    assert.deepEqual(importCycles([link('x', 'x'), link('p', 'q')]), ['x → x']);
    assert.deepEqual(importCycles([link('a', 'b'), link('b', 'c'), link('a', 'c')]), []);
    assert.deepEqual(
      unusedAllowances(r, [e('src/core/a.ts', 'jsonc-parser/lib/esm/main.js'), e('src/trainer/t.ts', '../core/x', 'src/core/x.ts'), e('src/trainer/t.ts', 'node:fs')]),
      ['src/trainer/: `src/protocol/backends.ts`', 'src/trainer/: `@tensorflow/tfjs`'],
    );
    // Python: both import forms, indented (inside a function) too; standard modules are not edges.
    const tmp = mkdtempSync(join(tmpdir(), 'laurel-imports-'));
    try {
      mkdirSync(join(tmp, 'src', 'python'), { recursive: true });
      writeFileSync(join(tmp, 'src', 'python', 'a.py'), 'import os, b\n');
      writeFileSync(join(tmp, 'src', 'python', 'b.py'), 'def f():\n    from c import g\n');
      writeFileSync(join(tmp, 'src', 'python', 'c.py'), 'import json\nfrom a import x\n');
      assert.deepEqual(importCycles(readPythonImports(tmp)), ['src/python/a.py → src/python/b.py → src/python/c.py → src/python/a.py']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
