/**
 * `laurel inspect model.py` and `laurel apply model.py --plan SPEC`: PyTorch sources, measured by one
 * forward pass in a Python with torch (src/trainer/pySourceTrace.ts), edited as text (core/pysource).
 */
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { instanceCost, variantLabel } from '../core/laurel/variants';
import type { Variant, VariantOptions } from '../core/laurel/variants';
import { openPyModel } from '../core/pysource/pyModel';
import type { OpenPyModel } from '../core/pysource/pyModel';
import { planPy, pyInspectReport } from '../core/pysource/pyPlan';
import type { PlannedPy } from '../core/pysource/pyPlan';
import { traceSource } from '../trainer/pySourceTrace';
import { sameFile, writeFileAtomic } from '../util/fsAtomic';
import { writeCompanion } from '../util/laurelCompanion';
import { percent, thousands } from '../report/figures';
import { renderTable } from '../report/table';
import { cliErrorExit, PLAN_OPTIONS, readInput, UsageError, variantOptions } from './cliOptions';

export const PY_USAGE = `  laurel inspect MODEL.py [--model EXPR] [--input EXPR] [--plan SPEC] [--json] [--python PY] [--timeout S]
  laurel apply MODEL.py --plan SPEC [-o OUT.py] [--model EXPR] [--input EXPR]
      A PyTorch source: one forward pass (in a Python with torch) finds the residual lines; sites are named
      by line (L104). EXPR are Python expressions in the file's namespace; else the file's comment
      '# laurel: model = Net(); input = torch.randn(1, 3, 32, 32)', else a no-argument class is tried.
      apply rewrites the add into a LaurelResidual call and writes laurel_residual.py beside the file.`;

/** The first positional after the command names a .py file. */
export function isPyCommand(argv: string[]): boolean {
  if (argv[0] !== 'inspect' && argv[0] !== 'apply') return false;
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: { out: { type: 'string', short: 'o' }, plan: { type: 'string' }, model: { type: 'string' }, input: { type: 'string' }, python: { type: 'string' }, timeout: { type: 'string' }, rank: { type: 'string' }, k: { type: 'string' }, to: { type: 'string' } } });
  return typeof positionals[1] === 'string' && positionals[1].toLowerCase().endsWith('.py');
}

export async function runPyCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    return cliErrorExit(e, PY_USAGE);
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...PLAN_OPTIONS,
      model: { type: 'string' },
      input: { type: 'string' },
      python: { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  const [command, file, ...extra] = positionals;
  if (!command || !file) throw new UsageError(PY_USAGE);
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const timeout = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!(timeout > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got '${values.timeout}'`);
  const opts = variantOptions(values);
  const text = readInput(file).toString('utf8');
  const r = await traceSource(file, { model: values.model, input: values.input, explicit: values.python, limitMs: timeout * 1000 });
  if (!r.ok) {
    console.error(`${file}${r.error.line ? `:${r.error.line}` : ''}: ${r.error.phase === 'torch' ? '' : `${r.error.phase}: `}${r.error.message}`);
    return 1;
  }
  const m = openPyModel(file, text, r.trace);
  if (command === 'inspect') {
    const planned = values.plan ? planPy(m, values.plan, opts) : undefined;
    if (values.json) console.log(JSON.stringify(pyInspectReport(m, planned), null, 2));
    else console.log([pyText(m, opts), ...(planned ? ['', pyPlanText(m, planned)] : [])].join('\n'));
    return 0;
  }
  if (command !== 'apply') throw new UsageError(`unknown command '${command}'`);
  if (!values.plan) throw new UsageError("'apply' needs --plan SPEC");
  const planned = planPy(m, values.plan, opts);
  const target = values.out ?? file;
  if (planned.usesLaurel) writeCompanion(dirname(target));
  const inPlace = values.out === undefined || sameFile(values.out, file);
  writeFileAtomic(target, planned.text, inPlace ? { expect: Buffer.from(text, 'utf8') } : {});
  console.log(`${target}: ${planned.edits.length ? `${planned.edits.length} edit(s)` : 'no change'}; ${pyPlanText(m, planned).split('\n')[0]}`);
  return 0;
}

const COLUMNS: Variant[] = ['rw', 'lr', 'rw+lr', 'gemma'];

export function pyText(m: OpenPyModel, options: VariantOptions): string {
  const t = m.trace;
  const p = m.params;
  const lines = [`${m.fileName}: PyTorch source${t ? `; model ${t.model}, input ${t.input}, torch ${t.torch}` : ' (not measured)'}`];
  if (p) lines.push(`Total params: ${thousands(p.total)}`, `Trainable params: ${thousands(p.trainable)}`, `Non-trainable params: ${thousands(p.nonTrainable)}`);
  const base = (p?.total ?? 0) - m.sites.reduce((s, x) => s + x.widths.reduce((a, w) => a + instanceCost(x.current, w).params, 0), 0);
  const instances = m.sites.reduce((s, x) => s + x.instances, 0);
  lines.push(`Residual lines: ${m.sites.length} (${instances} instances)`);
  if (!m.sites.length) return lines.join('\n');
  const rows = m.sites.map((s) => [
    s.id,
    s.code,
    `${[...new Set(s.widths)].join('/')}`,
    `×${s.instances}`,
    [...new Set(s.kinds)].join('/'),
    s.editable ? variantLabel(s.current) : `${variantLabel(s.current)} (${s.reason})`,
    ...COLUMNS.map((v) => {
      const n = s.widths.reduce((a, w) => a + instanceCost({ variant: v, options }, w).params, 0);
      return `+${thousands(n)} (${percent(base ? (n / base) * 100 : 0)})`;
    }),
  ]);
  lines.push(renderTable(['line', 'code', 'D', 'runs', 'shortcut', 'now', ...COLUMNS.map((v) => variantLabel({ variant: v, options }))], rows, new Set([2, 3, 6, 7, 8, 9])));
  return lines.join('\n');
}

export function pyPlanText(m: OpenPyModel, planned: PlannedPy): string {
  const c = planned.cost;
  const rows = m.sites.flatMap((s) => {
    const mine = c.sites.filter((x) => x.site === s.id && x.choice.variant !== 'plain');
    if (!mine.length) return [];
    const params = mine.reduce((a, x) => a + x.params, 0);
    return [[s.id, mine[0]!.label, `×${mine.length}`, `+${thousands(params)}`, percent(mine.reduce((a, x) => a + x.percent, 0))]];
  });
  const lines = [`Plan ${planned.spec}: +${thousands(c.addedParams)} params (${percent(c.percent)} of ${thousands(c.baseParams)})`];
  if (rows.length) lines.push(renderTable(['line', 'variant', 'runs', 'params', '%'], rows, new Set([2, 3, 4])));
  return lines.join('\n');
}
