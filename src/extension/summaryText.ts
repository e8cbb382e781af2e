/**
 * The text of the Show Summary document and the edits of Format Model File. Pure: no `vscode`.
 */
import { format } from 'jsonc-parser';
import { planText, residualText, summaryText } from '../report/inspectText';
import type { VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import type { TextEdit } from '../core/write/planEdits';
import { currentCost } from './modelFacts';

/** The Keras-style table, the residual sites with each variant's cost, and what the file holds now. */
export function summaryDocument(m: OpenModel, options: VariantOptions): string {
  const now = currentCost(m);
  const current = m.sites.some((s) => s.current.variant !== 'plain') ? planText('(as in the file)', now) : 'Every residual is a plain add.';
  return `${summaryText(m)}\n\n${residualText(m, options)}\n\n${current}\n`;
}

/**
 * Whitespace-only edits that put one value per line (2-space indent), as jsonc-parser's formatter makes
 * them: every token, number spelling and NaN included, stays as it was, so write-back still applies.
 */
export function formatEdits(text: string, eol = '\n'): TextEdit[] {
  return format(text, undefined, { tabSize: 2, insertSpaces: true, eol }).map((e) => ({ offset: e.offset, length: e.length, content: e.content }));
}
