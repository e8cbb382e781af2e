import { parseArgs } from 'node:util';
import { inspectReport, openModel, plannedBytes, planModel } from '../core/model';
import { EXPORT_TARGETS, exportModel, isExportTarget } from './exportCommand';
import { sameFile, writeFileAtomic } from '../util/fsAtomic';
import { planText, residualText, summaryText } from '../report/inspectText';
import { isTrainCommand, runTrainCommand, TRAIN_USAGE } from './trainCommands';
import { isPyCommand, PY_USAGE, runPyCommand } from './pyCommands';
import { cliErrorExit, PLAN_OPTIONS, readInput, UsageError, variantOptions } from './cliOptions';

const USAGE = `laurel: inspect and edit the residual connections of Keras / TF.js model files

  laurel inspect FILE [--plan SPEC] [--json] [--rank R] [--k K]
      Keras-style summary, the residual sites and what each LAuReL variant would add there.
  laurel apply FILE --plan SPEC [-o OUT]
      Write the model with the plan's LAuReL layers (in place, atomically, unless -o is given).
  laurel export FILE [--plan SPEC] [--to pytorch|keras-json|tfjs] [-o OUT]
      The model with the plan as a PyTorch module (default), a Keras 2 model JSON or a TF.js model.json.
${TRAIN_USAGE}
${PY_USAGE}

SPEC: entries 'target=variant:option...' separated by commas; target 'all' (default), a site id or
merge name ('*' matches anything); variants plain, rw, lr, pa, rw+lr, rw+pa, rw+lr+pa, gemma; options
r=RANK, k=K, norm=softmax|sigmoid-single|fixed, init=xavier|column-orthogonal,
pa=identity|lowrank-shared|lowrank-per-j.   Example: --plan all=rw+lr:r=16`;

function run(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...PLAN_OPTIONS,
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file, ...extra] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (!file) throw new UsageError(`'${command}' needs a model FILE`);
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const opts = variantOptions(values);
  const model = openModel(file, readInput(file));

  if (command === 'inspect') {
    const planned = values.plan ? { spec: values.plan, ...planModel(model, values.plan, opts) } : undefined;
    for (const w of planned?.warnings ?? []) console.error(`laurel: warning: ${w}`);
    if (values.json) {
      console.log(JSON.stringify(inspectReport(model, planned && { spec: planned.spec, cost: planned.cost }), null, 2));
    } else {
      console.log(summaryText(model));
      console.log();
      console.log(residualText(model, opts));
      if (planned) console.log(`\n${planText(planned.spec, planned.cost)}`);
    }
    return model.analysis.problems.length ? 1 : 0;
  }
  if (command === 'apply') {
    if (!values.plan) throw new UsageError("'apply' needs --plan SPEC");
    const planned = planModel(model, values.plan, opts);
    for (const w of planned.warnings) console.error(`laurel: warning: ${w}`);
    const target = values.out ?? file;
    // In place (also via -o naming the same file): refuse if the file changed since it was read.
    const inPlace = values.out === undefined || sameFile(values.out, file);
    writeFileAtomic(target, plannedBytes(model, planned), inPlace ? { expect: model.doc.bytes } : {});
    const changed = planned.edits.length ? `${planned.edits.length} edit(s)` : 'no change';
    console.log(`${target}: ${changed}; ${planText(values.plan, planned.cost).split('\n')[0]}`);
    return 0;
  }
  if (command === 'export') {
    const to = values.to ?? 'pytorch';
    if (!isExportTarget(to)) throw new UsageError(`--to must be one of ${EXPORT_TARGETS.join(', ')}; got '${to}'`);
    const r = exportModel(model, to, values.plan, opts, values.out);
    for (const w of r.warnings) console.error(`laurel: ${w}`);
    console.log(r.message);
    return 0;
  }
  throw new UsageError(`unknown command '${command}'; expected inspect, apply or export`);
}

function main(): void {
  if (isPyCommand(process.argv.slice(2))) {
    void runPyCommand(process.argv.slice(2)).then((code) => (process.exitCode = code));
    return;
  }
  if (isTrainCommand(process.argv[2])) {
    void runTrainCommand(process.argv.slice(2)).then((code) => (process.exitCode = code));
    return;
  }
  try {
    process.exitCode = run(process.argv.slice(2));
  } catch (e) {
    process.exitCode = cliErrorExit(e, USAGE);
  }
}

main();
