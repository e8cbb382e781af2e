/**
 * Compare Variants on a PyTorch .py model: the variants offered next to plain, each priced from the measured
 * model as `laurel compare model.py` would train it (the plan's rewrite of every editable residual line).
 * Pure (no `vscode`): a variant the source edits cannot express (PA while .py refuses it) is left out with
 * the reason, so the list follows what planPy accepts.
 */
import { choiceSpec } from '../core/laurel/planSpec';
import { variantLabel } from '../core/laurel/variants';
import type { Variant, VariantOptions } from '../core/laurel/variants';
import type { OpenPyModel } from '../core/pysource/pyModel';
import { pyCost } from '../core/pysource/pyModel';
import { planPy } from '../core/pysource/pyPlan';
import { deltaText } from '../report/figures';

/** The variants Compare offers next to the plain baseline, in this order. */
export const PY_COMPARE_VARIANTS: readonly Variant[] = ['rw', 'lr', 'rw+lr', 'pa', 'rw+lr+pa', 'gemma'];

export interface PyComparePick {
  label: string;
  description: string;
  /** The plan the trainer gets (`all=rw+lr`, with the options that differ from the defaults). */
  spec: string;
  variant: Variant;
  picked: boolean;
}

/** The picks, and the variants left out with why. The model must be measured. */
export function pyComparePicks(m: OpenPyModel, options: VariantOptions): { picks: PyComparePick[]; left: string[] } {
  const base = pyCost(m, new Map(m.sites.map((s) => [s.id, { variant: 'plain' as const, options }]))).baseParams;
  const lines = m.sites.filter((s) => s.editable).length;
  const instances = m.sites.filter((s) => s.editable).reduce((n, s) => n + s.instances, 0);
  const where = `${lines} residual line${lines === 1 ? '' : 's'} (${instances} call${instances === 1 ? '' : 's'})`;
  const picks: PyComparePick[] = [];
  const left: string[] = [];
  for (const variant of PY_COMPARE_VARIANTS) {
    const choice = { variant, options };
    const spec = choiceSpec(choice);
    try {
      const added = planPy(m, spec, options).cost.addedParams;
      picks.push({ label: variantLabel(choice), description: `${deltaText(added, base)} params over plain on ${where}`, spec, variant, picked: variant === 'rw' || variant === 'rw+lr' });
    } catch (e) {
      left.push(`${variant}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { picks, left };
}
