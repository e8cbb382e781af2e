/**
 * What the CodeLens shows, as plain data: the line, the title and the command of each lens. The
 * provider in codeLens.ts only turns these into vscode.CodeLens objects. Pure: no `vscode` (unit-tested).
 */
import { deltaText, thousands } from '../report/figures';
import type { ResidualSite } from '../core/analysis/residuals';
import { siteCost } from '../core/laurel/planCost';
import { variantLabel } from '../core/laurel/variants';
import type { Variant, VariantChoice, VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { capRank, currentCost, modelSpan, siteSpan } from './modelFacts';
import { unknownLayerText } from './unknownLayers';

/** Command ids the lenses call (contributed in package.json). */
export const COMMANDS = {
  showSummary: 'laurel.showSummary',
  applyVariantAll: 'laurel.applyVariantAll',
  applyVariantToSites: 'laurel.applyVariantToSites',
  revertAll: 'laurel.revertAll',
  openGraph: 'laurel.openGraph',
  formatModel: 'laurel.formatModel',
} as const;

export interface LensSpec {
  /** 0-based document line. */
  line: number;
  title: string;
  tooltip?: string;
  /** Command id, or '' for a lens that is only text. */
  command: string;
  /** Arguments after the document's uri, which the provider puts first. */
  args: unknown[];
}

/** The variants offered on each residual, in lens order. */
export const LENS_VARIANTS: readonly Variant[] = ['rw', 'lr', 'rw+lr', 'pa', 'gemma'];

function modelTitle(m: OpenModel): string {
  const p = m.params;
  const lower = m.analysis.unknownLayers.length ? '≥' : '';
  const now = currentCost(m);
  const laurel = m.sites.filter((s) => s.current.variant !== 'plain').length;
  const state = m.sites.length === 0 ? 'no residuals' : `${m.sites.length} residual${m.sites.length === 1 ? '' : 's'}`;
  const plan = laurel === 0 ? (m.sites.length ? 'all plain' : '') : `LAuReL on ${laurel}/${m.sites.length} ${deltaText(now.addedParams, now.baseParams)}`;
  const unknown = m.analysis.unknownLayers;
  return [
    `${m.doc.graph.name}: ${lower}${thousands(p.total)} params (${thousands(p.trainable)} trainable, ${thousands(p.nonTrainable)} non-trainable)`,
    unknown.length ? `⚠ ${unknown.length} unknown layer${unknown.length === 1 ? '' : 's'}: ${unknownLayerText(unknown, 2)}` : '',
    state + (unknown.length ? ' found (more may hide inside unknown layers)' : ''),
    plan,
  ]
    .filter(Boolean)
    .join(' · ');
}

function modelTooltip(m: OpenModel): string {
  const unknown = m.analysis.unknownLayers;
  if (!unknown.length) return 'Show the Keras-style summary';
  return (
    `≥: a lower bound. ${unknown.length} layer${unknown.length === 1 ? ' is' : 's are'} of a class LAuReL does not know (${unknownLayerText(unknown, 8)}): ` +
    'their parameters, their output shapes and every count after them are unknown (shown as ?), and residual connections inside them cannot be seen. Click: the Keras-style summary'
  );
}

function siteLenses(site: ResidualSite, sites: readonly ResidualSite[], line: number, options: VariantOptions, base: number): LensSpec[] {
  const D = site.width;
  const out: LensSpec[] = [
    {
      line,
      title: `residual ${site.id} · D=${D ?? '?'} · now ${variantLabel(site.current)}`,
      tooltip: `${site.shortcutKind} shortcut: ${site.branchLayer} ← ${site.forkLayer}${site.shortcutLayers.length ? ` (via ${site.shortcutLayers.join(', ')})` : ''}`,
      command: COMMANDS.openGraph,
      args: [site.merge],
    },
  ];
  const current = D === null ? 0 : siteCost(site, sites, site.current, D, true).params;
  const choices: VariantChoice[] = LENS_VARIANTS.map((variant) => capRank({ variant, options }, D));
  if (site.current.variant !== 'plain') choices.push({ variant: 'plain', options });
  for (const choice of choices) {
    if (choice.variant === site.current.variant && JSON.stringify(choice.options) === JSON.stringify(site.current.options)) continue;
    const label = variantLabel(choice);
    // A rank the settings ask for at or above D is capped here (capRank) and the lens says so.
    const capped = choice.options.rank !== options.rank;
    const capNote = capped ? ` (r=${options.rank} ≥ D=${D}: capped to ⌊D/2⌋)` : '';
    // Variants show their own cost over a plain add (what the paper tabulates); plain shows what it removes.
    const delta = D === null ? undefined : choice.variant === 'plain' ? -current : siteCost(site, sites, choice, D).params;
    out.push({
      line,
      title: `${capped ? '⚠ ' : ''}${delta === undefined ? label : `${label} ${deltaText(delta, base)}`}`,
      tooltip: `Make ${site.id} ${choice.variant === 'plain' ? 'a plain add again' : `a LAuReL ${label} residual`}` + (delta === undefined ? ' (its width is unknown, so the cost is too)' : `: ${deltaText(delta, base)} params`) + capNote,
      command: COMMANDS.applyVariantToSites,
      args: [[site.id], choice],
    });
  }
  return out;
}

/**
 * Every lens of a model. `lineOf` maps a model-text offset to a document line; it is absent when the
 * model text is not the document text (a JSON string, a .keras archive), and then only the model-level
 * lenses are shown, on line 0.
 */
export function buildLenses(m: OpenModel, options: VariantOptions, lineOf?: (offset: number) => number): LensSpec[] {
  const top = lineOf ? lineOf(modelSpan(m).offset) : 0;
  const now = currentCost(m);
  const out: LensSpec[] = [
    { line: top, title: modelTitle(m), tooltip: modelTooltip(m), command: COMMANDS.showSummary, args: [] },
  ];
  if (m.sites.length) out.push({ line: top, title: 'Apply variant to all…', command: COMMANDS.applyVariantAll, args: [] });
  if (m.sites.some((s) => s.current.variant !== 'plain')) out.push({ line: top, title: 'Revert all to plain', command: COMMANDS.revertAll, args: [] });
  out.push({ line: top, title: 'Open graph', command: COMMANDS.openGraph, args: [] });
  if (!lineOf) return out;

  const placed = m.sites.map((site) => {
    const span = siteSpan(m, site);
    return { site, line: span ? lineOf(span.offset) : undefined };
  });
  const lines = placed.map((p) => p.line);
  // A compact (one-line) file would stack every residual's lenses on one line: offer formatting instead.
  const distinct = lines.every((l) => l !== undefined) && new Set(lines).size === lines.length && !lines.includes(top);
  const span = modelSpan(m);
  const oneLine = lineOf(span.offset + span.length) === top;
  if (oneLine || (m.sites.length && !distinct)) {
    out.push({ line: top, title: 'Format model file', tooltip: 'Put one value per line, so that each residual gets its own lenses', command: COMMANDS.formatModel, args: [] });
    return out;
  }
  for (const p of placed) out.push(...siteLenses(p.site, m.sites, p.line!, options, now.baseParams));
  return out;
}
