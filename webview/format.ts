import { capRank, instanceCost } from '../src/core/laurel/variants';
import type { VariantChoice } from '../src/core/laurel/variants';
import type { GraphSite } from '../src/protocol/webviewProtocol';
import { deltaText } from '../src/report/figures';

// The compact count of the node boxes and the header totals. Deltas and percentages are written by
// src/report/figures.ts, the same function as the lenses, the Residuals view and the terminal.

// One formatter: toLocaleString makes one per call (a third of the main thread's time on 2,000 boxes).
const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

/** 9,472 below a million, then 1.23M / 25.6M; '?' for unknown. */
export function formatCount(n: number | null): string {
  if (n === null) return '?';
  const a = Math.abs(n);
  if (a < 1e6) return grouped.format(n);
  if (a < 1e9) return `${(n / 1e6).toFixed(a < 1e7 ? 2 : 1)}M`;
  return `${(n / 1e9).toFixed(2)}B`;
}

/**
 * A variant menu row's price: what `choice` adds over plain on `sites` (r capped per site as apply does, PA
 * with the terms that exist there; sites of unknown width add nothing here, the menu says so), written as
 * the lenses write it.
 */
export function menuDeltaText(sites: readonly Pick<GraphSite, 'width' | 'paTerms' | 'widths' | 'paTermsList' | 'readonly'>[], choice: VariantChoice, base: number): string {
  if (choice.variant === 'plain') return '+0';
  const added = sites.reduce((n, s) => {
    if (s.readonly !== undefined) return n; // not switched by Apply
    // A .py line: every instance at its width, the rank as written (its LaurelResidual does not cap it).
    if (s.widths) return s.widths.reduce((a, w, i) => a + instanceCost(choice, w, s.paTermsList?.[i] ?? choice.options.k).params, n);
    return n + (s.width === null ? 0 : instanceCost(capRank(choice, s.width), s.width, s.paTerms ?? choice.options.k).params);
  }, 0);
  return deltaText(added, base);
}
