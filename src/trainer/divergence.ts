/**
 * Flags a run whose loss is finite but diverging (a learning rate of 1e9 ends with a loss far above chance,
 * never NaN). One rule for both engines: the PyTorch harness gets these figures in its config and applies
 * the same test (src/python/laurel_train_loss.py, `DivergenceWatch`).
 *
 * The reference is the first step's loss (the initial weights': a learning rate of 1e9 ruins them in one
 * step). A step is bad when its loss is over FACTOR times the reference, or, for a classifier, over FACTOR
 * times the chance-level loss (ln C) while not below the reference (not learning). WINDOW bad steps in a
 * row stop the run as a NaN loss does (status diverged, no weights saved).
 */
export const DIVERGENCE = { referenceSteps: 1, factor: 3, window: 20 } as const;

export interface DivergenceRule {
  referenceSteps: number;
  factor: number;
  window: number;
  /** The loss of a uniform guess (ln C for C classes), or null for a regression loss. */
  chance: number | null;
}

/** The chance-level loss of a training loss over `classes` classes, or null when it has none (regression). */
export function chanceLoss(lossName: string, classes: number | undefined): number | null {
  if (lossName === 'binaryCrossentropy') return Math.LN2;
  if ((lossName === 'categoricalCrossentropy' || lossName === 'softmaxCrossEntropyFromLogits') && classes !== undefined && classes > 1) return Math.log(classes);
  return null;
}

export function divergenceRule(lossName: string, classes: number | undefined): DivergenceRule {
  return { ...DIVERGENCE, chance: chanceLoss(lossName, classes) };
}

const fmt = (x: number): string => (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toFixed(3));

export class DivergenceWatch {
  private readonly first: number[] = [];
  private reference: number | undefined;
  private bad = 0;

  constructor(private readonly rule: DivergenceRule) {}

  /** Feeds one finite step loss; returns why the run is diverging once WINDOW bad steps in a row are seen. */
  step(step: number, loss: number): string | undefined {
    const r = this.rule;
    if (this.reference === undefined) {
      this.first.push(loss);
      if (this.first.length < r.referenceSteps) return undefined;
      const sorted = [...this.first].sort((a, b) => a - b);
      this.reference = sorted[Math.floor(sorted.length / 2)]!;
      return undefined;
    }
    const ref = this.reference;
    const overStart = loss > r.factor * ref;
    const overChance = r.chance !== null && loss > r.factor * r.chance && loss >= ref;
    this.bad = overStart || overChance ? this.bad + 1 : 0;
    if (this.bad < r.window) return undefined;
    const why = overStart
      ? `over ${r.factor}x its start (${fmt(ref)})`
      : `over ${r.factor}x the chance level (${fmt(r.chance!)}) without falling below its start (${fmt(ref)})`;
    return `loss diverging: ${fmt(loss)} at step ${step}, ${why} for ${r.window} steps in a row`;
  }
}
