/**
 * `laurel inspect model.py` and `laurel apply model.py --plan SPEC`: PyTorch sources, measured by one
 * forward pass in a Python with torch (src/trainer/pySourceTrace.ts), edited as text (core/pysource).
 */
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { variantLabel } from '../core/laurel/variants';
import type { PlanCost } from '../core/laurel/planCost';
import type { TraceError } from '../core/pysource/pyTrace';
import type { Variant, VariantOptions } from '../core/laurel/variants';
import { openPyModels, pyCost } from '../core/pysource/pyModel';
import type { OpenPyModel, PyModelView } from '../core/pysource/pyModel';
import { planPy, pyInspectReport } from '../core/pysource/pyPlan';
import { traceAllSources } from '../trainer/pySourceTrace';
import { sameFile, writeFileAtomic } from '../util/fsAtomic';
import { writeCompanion } from '../util/laurelCompanion';
import { percent, thousands } from '../report/figures';
import { renderTable } from '../report/table';
import { cliErrorExit, PLAN_OPTIONS, readInput, UsageError, variantOptions } from './cliOptions';

export const PY_USAGE = `  laurel inspect MODEL.py [--model EXPR]... [--input EXPR]... [--plan SPEC] [--json] [--python PY] [--timeout S]
  laurel apply MODEL.py --plan SPEC [-o OUT.py] [--model EXPR]... [--input EXPR]...
      A PyTorch source: one forward pass per model (in a Python with torch) finds the residual lines; sites
      are named by line (L104). EXPR are Python expressions in the file's namespace (--model repeats; one
      --input for all or one per --model); else each '# laurel: model = Net(); input = torch.randn(1, 3, 32, 32)'
      comment line; else every class that builds without arguments. Each model is listed and priced.
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
      model: { type: 'string', multiple: true },
      input: { type: 'string', multiple: true },
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
  const r = await traceAllSources(file, { models: values.model ?? [], inputs: values.input ?? [], explicit: values.python, limitMs: timeout * 1000 });
  const located = (e: TraceError, model?: string | null): string => `${file}${e.line ? `:${e.line}` : ''}: ${model ? `${model}: ` : ''}${e.phase === 'torch' ? '' : `${e.phase}: `}${e.message}`;
  if (!r.ok) {
    console.error(located(r.error));
    return 1;
  }
  const m = openPyModels(file, text, r.models);
  for (const f of m.failures) console.error(located(f.error, f.model));
  // A model the user named that fails, or none measured, is an error; other models of the file still print.
  if (!m.views.length || (values.model?.length && m.failures.length)) return 1;
  if (command === 'inspect') {
    const planned = values.plan ? planPy(m, values.plan, opts) : undefined;
    if (values.json) console.log(JSON.stringify(pyInspectReport(m, planned), null, 2));
    else console.log(m.views.map((v, i) => [pyText(m, v, opts), ...(planned ? ['', pyPlanText(v, planned.spec, planned.costs[i]!)] : [])].join('\n')).join('\n\n'));
    return 0;
  }
  if (command !== 'apply') throw new UsageError(`unknown command '${command}'`);
  if (!values.plan) throw new UsageError("'apply' needs --plan SPEC");
  const planned = planPy(m, values.plan, opts);
  const target = values.out ?? file;
  if (planned.usesLaurel) writeCompanion(dirname(target));
  const inPlace = values.out === undefined || sameFile(values.out, file);
  writeFileAtomic(target, planned.text, inPlace ? { expect: Buffer.from(text, 'utf8') } : {});
  console.log(`${target}: ${planned.edits.length ? `${planned.edits.length} edit(s)` : 'no change'}`);
  m.views.forEach((v, i) => console.log(`  ${pyPlanText(v, planned.spec, planned.costs[i]!).split('\n')[0]}`));
  return 0;
}

const COLUMNS: Variant[] = ['rw', 'lr', 'rw+lr', 'pa', 'rw+lr+pa', 'gemma'];

/** One measured model: its figures and, per residual line it runs, what each variant would add to it. */
export function pyText(m: OpenPyModel, v: PyModelView, options: VariantOptions): string {
  const t = v.trace;
  const p = v.params;
  const lines = [`${m.fileName}: PyTorch source; model ${t.model}, input ${t.input}, torch ${t.torch}`];
  lines.push(`Total params: ${thousands(p.total)}`, `Trainable params: ${thousands(p.trainable)}`, `Non-trainable params: ${thousands(p.nonTrainable)}`);
  const now = pyCost(m, new Map(), v);
  const instances = v.sites.reduce((s, x) => s + x.instances, 0);
  lines.push(`Residual lines: ${v.sites.length} (${instances} instances)`);
  if (!v.sites.length) return lines.join('\n');
  const rows = v.sites.map((s) => [
    s.id,
    s.code,
    `${[...new Set(s.widths)].join('/')}`,
    `×${s.instances}`,
    [...new Set(s.kinds)].join('/'),
    s.editable ? variantLabel(s.current) : `${variantLabel(s.current)} (${s.reason})`,
    ...COLUMNS.map((variant) => {
      // The line alone switched: PA's terms are then those its own instances give each other.
      const c = pyCost(m, new Map([[s.id, { variant, options }]]), v);
      const n = c.sites.filter((x) => x.site === s.id).reduce((a, x) => a + x.params, 0);
      return `+${thousands(n)} (${percent(now.baseParams ? (n / now.baseParams) * 100 : 0)})`;
    }),
  ]);
  lines.push(renderTable(['line', 'code', 'D', 'runs', 'shortcut', 'now', ...COLUMNS.map((variant) => variantLabel({ variant, options }))], rows, new Set([2, 3, 6, 7, 8, 9, 10, 11])));
  return lines.join('\n');
}

export function pyPlanText(v: PyModelView, spec: string, c: PlanCost): string {
  const rows = v.sites.flatMap((s) => {
    const mine = c.sites.filter((x) => x.site === s.id && x.choice.variant !== 'plain');
    if (!mine.length) return [];
    const params = mine.reduce((a, x) => a + x.params, 0);
    return [[s.id, mine[0]!.label, `×${mine.length}`, `+${thousands(params)}`, percent(mine.reduce((a, x) => a + x.percent, 0))]];
  });
  const lines = [`Plan ${spec} on ${v.name}: +${thousands(c.addedParams)} params (${percent(c.percent)} of ${thousands(c.baseParams)})`];
  if (rows.length) lines.push(renderTable(['line', 'variant', 'runs', 'params', '%'], rows, new Set([2, 3, 4])));
  return lines.join('\n');
}
