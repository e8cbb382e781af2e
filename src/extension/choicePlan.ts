/**
 * What giving a variant to some residuals changes in a model file, as plain data: the edits of the model text
 * (for a model held in a JSON string, the whole new text) and the sentence that says what it does. Made in the
 * analysis worker for a text file, so a click on a lens, a graph menu or a Residuals row never copies the model
 * to the extension host; the host only applies the edits. Pure: no `vscode`.
 */
import type { Container } from '../core/ir';
import type { VariantChoice } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { planEdits, type TextEdit } from '../core/write/planEdits';
import { writeDocument } from '../core/write/writeDocument';
import { deltaText } from '../report/figures';
import { capRank, capText, costWith, deltaParams, rankCaps } from './modelFacts';

export type ChoicePlan =
  /** Residuals the model does not have (it changed since the lens or row was drawn). */
  | { kind: 'unknown'; siteIds: string[] }
  /** The plan was refused (why). */
  | { kind: 'failed'; message: string }
  /** Nothing to change: the residuals have the variant already. */
  | { kind: 'same'; what: string }
  /** `edits` of the model text; `text`: the file's whole new text when the model is a JSON string in it. */
  | { kind: 'edits'; what: string; edits: TextEdit[]; container: Container; text?: string };

export function planChoice(m: OpenModel, choice: VariantChoice, siteIds?: readonly string[]): ChoicePlan {
  const known = new Set(m.sites.map((s) => s.id));
  const ids = new Set(siteIds ?? known);
  const unknown = [...ids].filter((id) => !known.has(id));
  if (unknown.length) return { kind: 'unknown', siteIds: unknown };
  let edits: TextEdit[];
  try {
    edits = planEdits(m.doc, m.sites, new Map(m.sites.filter((s) => ids.has(s.id)).map((s) => [s.id, capRank(choice, s.width)])));
  } catch (e) {
    return { kind: 'failed', message: e instanceof Error ? e.message : String(e) };
  }
  const plan = costWith(m, choice, [...ids]);
  const capped = capText(choice, rankCaps(m, choice, [...ids]));
  const what = `${choice.variant === 'plain' ? 'plain' : choice.variant.toUpperCase()} on ${ids.size} residual${ids.size === 1 ? '' : 's'}: ${deltaText(deltaParams(m, plan), plan.baseParams)} params${capped ? `; ${capped}` : ''}`;
  if (edits.length === 0) return { kind: 'same', what };
  const container = m.doc.container;
  // A JSON string is encoded again as a whole, so the file's whole text changes.
  if (container === 'json-string') return { kind: 'edits', what, edits, container, text: new TextDecoder().decode(writeDocument(m.doc, edits)) };
  return { kind: 'edits', what, edits, container };
}
