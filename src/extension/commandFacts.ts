/**
 * What a command needs of a model, as small plain data: the variant quick pick's items, the residuals to pick
 * from (or the one under the cursor), Compare's items, the Show Summary text, the outputs a training can use,
 * an export's text. Answered in the analysis worker for a text file, so no command copies the whole OpenModel
 * to the extension host (a structured clone: 190-320 ms CPU of the host's thread at 20,000 layers); a .keras
 * archive (read on the host) is answered by the same function there. Pure: no `vscode`.
 */
import type { Container } from '../core/ir';
import { choiceSpec } from '../core/laurel/planSpec';
import { variantLabel, type Variant, type VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { exportText, type ExportTarget } from '../core/export/exportText';
import { deltaText } from '../report/figures';
import { modelInputs, modelOutputs, type ModelInput, type TrainingOutput } from '../trainer/trainingGraph';
import { costWith, currentCost, siteAtOffset } from './modelFacts';
import { formatEdits, summaryDocument } from './summaryText';
import type { TextEdit } from '../core/write/planEdits';
import { variantPicks, type VariantPick } from './variantPicks';

export type CommandQuery =
  /** The variant picks for `siteIds` (every residual when absent), `preferred` first. */
  | { what: 'picks'; preferred: Variant; siteIds?: string[] }
  /** The residual whose merge layer holds model-text `offset` (a plain file only), else every residual to pick from. */
  | { what: 'sites'; offset?: number }
  /** Compare's variants, priced over plain. */
  | { what: 'compare' }
  | { what: 'summary' }
  /** The model's outputs (which one trains) and inputs (the data a model with several can take). */
  | { what: 'outputs' }
  /** Only whether it reads (and its residual count). */
  | { what: 'reads' }
  | { what: 'export'; target: ExportTarget }
  /** Format Model File's whitespace edits of the model text, lines ending in `eol` (a plain file only). */
  | { what: 'format'; eol: '\n' | '\r\n' };

/** A residual as the pick lists it. */
export interface SitePick {
  label: string;
  description: string;
  detail: string;
}

/** Compare's item: a variant priced over plain, its plan spec, and whether it starts ticked. */
export type ComparePick = VariantPick & { spec: string; picked: boolean };

/** The variants Compare offers next to the plain baseline, in its order. */
export const COMPARE_VARIANTS: readonly Variant[] = ['rw', 'lr', 'rw+lr', 'pa', 'rw+lr+pa', 'gemma'];

type Answer<W extends CommandQuery['what'], T> = { what: W } & T;
export type CommandAnswer = { sites: number; container: Container } & (
  | Answer<'picks', { picks: VariantPick[] }>
  | Answer<'sites', { atCursor?: SitePick; list: SitePick[] }>
  | Answer<'compare', { picks: ComparePick[] }>
  | Answer<'summary', { text: string }>
  | Answer<'outputs', { outputs: TrainingOutput[]; inputs: ModelInput[] }>
  | Answer<'reads', object>
  | Answer<'format', { edits: TextEdit[] }>
  /** The exported text, or why the model cannot be exported (a read error is the answer's own error). */
  | Answer<'export', { export: { text: string; unsupported: { layer: string; className: string }[] } | { error: string } }>
);

/** The answer of `query` for model `m` under the settings' `options`. */
export function commandAnswer(m: OpenModel, query: CommandQuery, options: VariantOptions): CommandAnswer {
  const base = { sites: m.sites.length, container: m.doc.container };
  switch (query.what) {
    case 'picks':
      return { ...base, what: 'picks', picks: variantPicks(m, options, query.preferred, query.siteIds) };
    case 'sites': {
      const at = query.offset !== undefined && m.doc.container === 'plain' ? siteAtOffset(m, query.offset) : undefined;
      // Under the cursor: that one alone (a list of thousands would cross the thread for nothing).
      return at ? { ...base, what: 'sites', atCursor: sitePick(at), list: [] } : { ...base, what: 'sites', list: m.sites.map(sitePick) };
    }
    case 'compare':
      return { ...base, what: 'compare', picks: comparePicks(m, options) };
    case 'summary':
      return { ...base, what: 'summary', text: summaryDocument(m, options) };
    case 'outputs':
      return { ...base, what: 'outputs', outputs: modelOutputs(m), inputs: modelInputs(m) };
    case 'reads':
      return { ...base, what: 'reads' };
    case 'format':
      return { ...base, what: 'format', edits: m.doc.container === 'plain' ? formatEdits(m.doc.text, query.eol) : [] };
    case 'export':
      try {
        return { ...base, what: 'export', export: exportText(m, query.target, new Map()) };
      } catch (e) {
        return { ...base, what: 'export', export: { error: e instanceof Error ? e.message : String(e) } };
      }
  }
}

function sitePick(s: OpenModel['sites'][number]): SitePick {
  return { label: s.id, description: `D=${s.width ?? '?'} · now ${variantLabel(s.current)}`, detail: `${s.shortcutKind}: ${s.branchLayer} ← ${s.forkLayer}` };
}

/** Compare's items: the Apply picks of every residual, reordered, each priced over plain (the baseline) rather than over what the file holds. */
function comparePicks(m: OpenModel, options: VariantOptions): ComparePick[] {
  const n = m.sites.length;
  return variantPicks(m, options, 'rw+lr')
    .filter((p) => COMPARE_VARIANTS.includes(p.variant))
    .sort((a, b) => COMPARE_VARIANTS.indexOf(a.variant) - COMPARE_VARIANTS.indexOf(b.variant))
    .map((p) => {
      const added = costWith(m, { variant: p.variant, options }).addedParams;
      const description = `${deltaText(added, currentCost(m).baseParams)} params over plain on ${n} residual${n === 1 ? '' : 's'}`;
      return { ...p, description, spec: choiceSpec({ variant: p.variant, options }), picked: p.variant === 'rw' || p.variant === 'rw+lr' };
    });
}
