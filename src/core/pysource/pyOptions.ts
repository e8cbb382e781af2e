/**
 * The `# laurel:` options comment of a PyTorch source, read without running anything:
 *
 *     # laurel: model=GPT(GPTConfig(n_layer=2)) input=torch.randint(0, 256, (1, 32)) loss=model data=text:input.txt
 *     # laurel: model=ResNet18() input=torch.randn(1, 3, 32, 32) data=fashion-mnist:limit=2000 adapt=auto
 *
 * (`adapt` as `laurel train --adapt` takes it: `auto` or a list of the data adaptations.)
 * Options are `key=value`, separated by `;` or by whitespace before the next `key=` (outside brackets and
 * strings, so `GPTConfig(n_layer=2)` stays one value). `model` and `input` belong to their comment line: a file
 * may name several models, one line each (an input-only line is every model's input), and the first is the one
 * that trains unless `--model` says otherwise. `loss`, `data` and `adapt` are the file's: given once. A key given
 * twice, an unknown key, a part without `=` or an unknown loss is a problem at its line and column (1-based), so a
 * typo never silently trains something else. Command-line flags override these values.
 */

/** `cross_entropy`: class logits (N, K) or per-token logits (N, T, V); `mse` against one-hot labels; `model`: the forward's own loss. */
export const PY_LOSSES = ['cross_entropy', 'mse', 'model'] as const;
export type PyLoss = (typeof PY_LOSSES)[number];

export const PY_OPTION_KEYS = ['model', 'input', 'loss', 'data', 'adapt'] as const;
export type PyOptionKey = (typeof PY_OPTION_KEYS)[number];

export interface PyOptionValue {
  value: string;
  /** 1-based line and column of the key. */
  line: number;
  column: number;
}

export interface PyOptionProblem {
  line: number;
  column: number;
  message: string;
}

export interface PyOptions {
  values: Partial<Record<PyOptionKey, PyOptionValue>>;
  problems: PyOptionProblem[];
  /** The line of the first `# laurel:` comment, if any. */
  line: number | null;
}

const COMMENT = /^([ \t]*#[ \t]*laurel:)(.*)$/;
const NEXT_KEY = /^\s+[A-Za-z_]\w*\s*=(?!=)/;

/** The body's parts with their offsets: split at `;` or before ` key=`, outside brackets and string literals. */
export function splitOptionParts(body: string): { text: string; at: number }[] {
  const parts: { text: string; at: number }[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  const push = (end: number): void => {
    const raw = body.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    if (raw.trim()) parts.push({ text: raw.trim(), at: start + lead });
  };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth = Math.max(0, depth - 1);
    else if (depth === 0 && ch === ';') {
      push(i);
      start = i + 1;
    } else if (depth === 0 && /\s/.test(ch) && NEXT_KEY.test(body.slice(i))) {
      push(i);
      start = i;
    }
  }
  push(body.length);
  return parts;
}

/** Keys that belong to one comment line (one model each); the others are the file's. */
const PER_LINE: ReadonlySet<PyOptionKey> = new Set(['model', 'input']);

/** Every `# laurel:` comment line of the text, as options and located problems. */
export function readPyOptions(text: string): PyOptions {
  const out: PyOptions = { values: {}, problems: [], line: null };
  const fileWide: Partial<Record<PyOptionKey, PyOptionValue>> = {};
  const models: { model: PyOptionValue; input?: PyOptionValue }[] = [];
  let sharedInput: PyOptionValue | undefined;
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((lineText, i) => {
    const m = COMMENT.exec(lineText);
    if (!m) return;
    const line = i + 1;
    out.line ??= line;
    const base = m[1]!.length;
    const own: Partial<Record<PyOptionKey, PyOptionValue>> = {};
    for (const part of splitOptionParts(m[2]!)) {
      const column = base + part.at + 1;
      const eq = part.text.indexOf('=');
      const key = eq > 0 ? part.text.slice(0, eq).trim() : '';
      const value = eq > 0 ? part.text.slice(eq + 1).trim() : '';
      const problem = (message: string): void => void out.problems.push({ line, column, message });
      if (eq <= 0 || !/^[A-Za-z_]\w*$/.test(key)) {
        problem(`'${part.text}' is not an option: write key=value (keys: ${PY_OPTION_KEYS.join(', ')})`);
        continue;
      }
      if (!(PY_OPTION_KEYS as readonly string[]).includes(key)) {
        problem(`unknown option '${key}' in the # laurel: comment (keys: ${PY_OPTION_KEYS.join(', ')})`);
        continue;
      }
      const k = key as PyOptionKey;
      const before = (PER_LINE.has(k) ? own : fileWide)[k];
      if (before) {
        problem(`'${k}' is given twice (first at line ${before.line}:${before.column})${PER_LINE.has(k) ? '; another model goes on a line of its own' : ''}`);
        continue;
      }
      if (!value) {
        problem(`'${k}=' has no value`);
        continue;
      }
      if (k === 'loss' && !(PY_LOSSES as readonly string[]).includes(value)) {
        problem(`loss=${value} is not a loss here: ${PY_LOSSES.join(', ')}`);
        continue;
      }
      (PER_LINE.has(k) ? own : fileWide)[k] = { value, line, column };
    }
    if (own.model) models.push({ model: own.model, ...(own.input ? { input: own.input } : {}) });
    else if (own.input) sharedInput ??= own.input;
  });
  // The model that trains: the first one named (as the tracer measures it), with its own input or the shared one.
  const first = models[0];
  const input = first?.input ?? sharedInput;
  out.values = { ...fileWide, ...(first ? { model: first.model } : {}), ...(input ? { input } : {}) };
  return out;
}

/** `file:line:col: message` for each problem, one per line. */
export function describeOptionProblems(file: string, problems: readonly PyOptionProblem[]): string {
  return problems.map((p) => `${file}:${p.line}:${p.column}: ${p.message}`).join('\n');
}
