/**
 * What the LAuReL Residuals view shows, as plain data: the model's residual sites grouped in stages (runs of
 * sites whose merges output the same shape, as the graph's "Whole stage"), each with its kind, width D, current
 * variant and, as children, what each variant would cost there. Pure: no `vscode` (unit-tested).
 */
import { deltaText } from '../report/figures';
import { siteCost } from '../core/laurel/planCost';
import { variantLabel } from '../core/laurel/variants';
import type { VariantChoice, VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { stageOf } from '../protocol/graphStage';
import { graphSnapshot, shapeText } from './graphSnapshot';
import { LENS_VARIANTS } from './lensSpecs';
import { capRank, currentCost } from './modelFacts';
import { unknownLayerText } from './unknownLayers';

export interface VariantItem {
  kind: 'variant';
  siteId: string;
  choice: VariantChoice;
  label: string;
  description: string;
  tooltip: string;
  /** The site has this variant now (nothing to apply). */
  current: boolean;
  /** The settings' rank was at or above D here and was capped. */
  capped: boolean;
}

export interface SiteItem {
  kind: 'site';
  siteId: string;
  merge: string;
  /** The nested models the merge layer is in (outermost first; empty at the top). */
  scope: string[];
  label: string;
  description: string;
  tooltip: string;
  /** Empty when the tree was made without them (the analysis worker's tree: asked for when a site opens). */
  variants: VariantItem[];
}

export interface StageItem {
  kind: 'stage';
  label: string;
  description: string;
  siteIds: string[];
  sites: SiteItem[];
}

export interface NoteItem {
  kind: 'note';
  label: string;
  tooltip: string;
}

export type ResidualTreeItem = StageItem | SiteItem | VariantItem | NoteItem;

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The Residuals view's rows of a model and what its message says of it (the worker's and an archive's alike). */
export function residualRows(m: OpenModel, options: VariantOptions, withVariants = true): { tree: (StageItem | NoteItem)[]; name: string; sites: number; unknownLayers: number; container: OpenModel['doc']['container'] } {
  return { tree: residualTree(m, options, withVariants), name: m.doc.graph.name, sites: m.sites.length, unknownLayers: m.analysis.unknownLayers.length, container: m.doc.container };
}

/**
 * The view's top level: a note on layers of unknown class (residuals may hide inside them), then the stages.
 * `withVariants` false: each site's variants are left out (`siteVariants` makes them when the site opens).
 */
export function residualTree(m: OpenModel, options: VariantOptions, withVariants = true): (StageItem | NoteItem)[] {
  const out: (StageItem | NoteItem)[] = [];
  const unknown = m.analysis.unknownLayers;
  if (unknown.length) {
    out.push({
      kind: 'note',
      label: `${plural(unknown.length, 'layer')} of unknown class: residuals inside may be hidden`,
      // Tooltips stay one or two lines: a long hover covers the rows below it.
      tooltip: `${unknownLayerText(unknown)}: their insides are not in the file, so residuals there are not seen; the total is a lower bound`,
    });
  }
  const base = currentCost(m).baseParams;
  const snapshot = graphSnapshot(m, options);
  const byId = new Map(m.sites.map((s) => [s.id, s]));
  for (let i = 0; i < snapshot.sites.length; ) {
    const stage = stageOf(snapshot, snapshot.sites[i]!.id);
    i += Math.max(1, stage.length);
    const sites = stage.map((g) => siteItem(byId.get(g.id)!, m.sites, options, base, withVariants));
    const first = byId.get(stage[0]!.id)!;
    const switched = stage.filter((g) => g.current.variant !== 'plain').length;
    out.push({
      kind: 'stage',
      label: `stage ${out.filter((o) => o.kind === 'stage').length + 1}`,
      description: `${shapeText(first.shape)} · ${plural(stage.length, 'residual')}${switched ? ` · ${switched} LAuReL` : ''}`,
      siteIds: stage.map((g) => g.id),
      sites,
    });
  }
  return out;
}

/** What each variant would cost at site `siteId` (the children of its row); undefined when there is no such site. */
export function siteVariants(m: OpenModel, siteId: string, options: VariantOptions): VariantItem[] | undefined {
  const site = m.sites.find((s) => s.id === siteId);
  return site && variantItems(site, m.sites, options, currentCost(m).baseParams);
}

function siteItem(site: OpenModel['sites'][number], all: OpenModel['sites'], options: VariantOptions, base: number, withVariants: boolean): SiteItem {
  const D = site.width;
  const via = site.shortcutLayers.length ? ` via ${site.shortcutLayers.join(', ')}` : '';
  return {
    kind: 'site',
    siteId: site.id,
    merge: site.merge,
    scope: [...site.scope],
    label: site.id,
    description: `${site.shortcutKind} · D=${D ?? '?'} · ${variantLabel(site.current)}`,
    // The variants and their costs are the item's children: the tooltip says only where the residual is.
    tooltip: `${site.merge}${site.scope.length ? ` in ${site.scope.join('/')}` : ''} ${shapeText(site.shape)}: ${site.branchLayer} ← ${site.forkLayer}${via}`,
    variants: withVariants ? variantItems(site, all, options, base) : [],
  };
}

function variantItems(site: OpenModel['sites'][number], all: OpenModel['sites'], options: VariantOptions, base: number): VariantItem[] {
  const D = site.width;
  return [...LENS_VARIANTS, 'plain' as const].map((variant) => {
    const wanted: VariantChoice = { variant, options };
    const choice = capRank(wanted, D);
    const capped = choice !== wanted;
    const current = variant === site.current.variant && (variant === 'plain' || JSON.stringify(choice.options) === JSON.stringify(site.current.options));
    // PA is priced with the earlier terms it would wire here (siteCost), as the lenses and the graph do.
    const params = D === null ? null : siteCost(site, all, choice, D).params;
    const label = variantLabel(choice);
    const cost = params === null ? 'cost unknown (D unknown)' : `${deltaText(params, base)} params`;
    return {
      kind: 'variant',
      siteId: site.id,
      choice,
      // A capped rank shows as the item's warning icon (residualView.ts), not a second ⚠ in the label.
      label,
      description: `${variant === 'plain' ? (params === null ? '' : '+0') : cost}${current ? ' · current' : ''}`,
      tooltip: variant === 'plain' ? 'y = f(x) + x' : `${cost} over a plain add` + (capped ? `\nr=${options.rank} ≥ D=${D} is not low-rank: capped to r=${choice.options.rank} (⌊D/2⌋) here` : ''),
      current,
      capped,
    };
  });
}
