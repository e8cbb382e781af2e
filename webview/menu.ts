// The variant menu of one or more residual edges: each variant with what it adds, rank and k, apply.
import { VARIANTS, variantLabel } from '../src/core/laurel/variants';
import type { Variant } from '../src/core/laurel/variants';
import type { GraphSite, GraphSnapshot } from '../src/protocol/webviewProtocol';
import { menuDeltaText } from './format';
import { stageOf } from '../src/protocol/graphStage';

export interface MenuChoice {
  siteIds: string[];
  variant: Variant;
  rank: number;
  k: number;
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, parent?: Element): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  parent?.appendChild(e);
  return e;
};

const positiveInt = (s: string, max: number): number | undefined => {
  const n = Number(s.trim());
  return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
};

/** The popover; one instance, reused. */
export class VariantMenu {
  readonly root: HTMLDivElement;
  private restoreFocus: Element | null = null;

  constructor(
    host: HTMLElement,
    private readonly onApply: (c: MenuChoice) => void,
  ) {
    this.root = el('div', 'menu', host);
    this.root.hidden = true;
    this.root.setAttribute('role', 'dialog');
    this.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        this.close();
      }
    });
    document.addEventListener('pointerdown', (e) => {
      if (!this.root.hidden && !this.root.contains(e.target as Node) && !(e.target as Element).closest?.('.residual, .toolbar')) this.close();
    });
  }

  get open(): boolean {
    return !this.root.hidden;
  }

  close(): void {
    if (this.root.hidden) return;
    this.root.hidden = true;
    this.root.replaceChildren();
    (this.restoreFocus as HTMLElement | SVGElement | null)?.focus?.();
    this.restoreFocus = null;
  }

  /** Opens next to the screen point (x, y) of the host for the given sites. */
  show(g: GraphSnapshot, sites: GraphSite[], x: number, y: number): void {
    if (sites.length === 0) return;
    if (!this.root.contains(document.activeElement)) this.restoreFocus = document.activeElement;
    const root = this.root;
    root.replaceChildren();
    root.setAttribute('aria-label', sites.length === 1 ? `Variant of residual ${sites[0]!.merge}` : `Variant of ${sites.length} residuals`);

    const first = sites[0]!;
    const title = el('div', 'menu-title', root);
    if (sites.length === 1) {
      el('strong', '', title).textContent = first.merge;
      // A .py line switches every instance of it: its widths, and how many.
      const d = first.widths ? `D=${[...new Set(first.widths)].join('/')} · ×${first.widths.length}` : `D=${first.width ?? '?'}`;
      el('span', 'menu-sub', title).textContent = ` · ${first.kindText ?? first.kind} · ${d} · now ${first.current.label}`;
    } else {
      el('strong', '', title).textContent = `${sites.length} residuals`;
      const now = new Set(sites.map((s) => s.current.label));
      el('span', 'menu-sub', title).textContent = ` · now ${now.size === 1 ? [...now][0] : 'mixed'}`;
    }

    const list = el('div', 'menu-list', root);
    list.setAttribute('role', 'radiogroup');
    list.setAttribute('aria-label', 'Variant');
    const rows = new Map<Variant, { label: HTMLSpanElement; delta: HTMLSpanElement }>();
    const initial = sites.every((s) => s.current.variant === first.current.variant) ? first.current.variant : 'rw+lr';
    for (const v of VARIANTS) {
      const row = el('label', 'menu-row', list);
      const radio = el('input', '', row);
      radio.type = 'radio';
      radio.name = 'variant';
      radio.value = v;
      radio.checked = v === initial;
      rows.set(v, { label: el('span', 'menu-variant', row), delta: el('span', 'menu-delta', row) });
    }

    const opts = el('div', 'menu-options', root);
    const field = (label: string, value: number): HTMLElement & { value: string } => {
      const f = document.createElement('vscode-text-field') as HTMLElement & { value: string };
      f.setAttribute('size', '4');
      f.setAttribute('value', String(value));
      f.textContent = label;
      opts.appendChild(f);
      return f;
    };
    // Start from the sites' own rank and k when they all share one LAuReL setting, else the defaults.
    const same = sites.every((s) => s.current.variant !== 'plain' && s.current.rank === first.current.rank && s.current.k === first.current.k);
    const rank = field('rank r', same ? first.current.rank : g.options.rank);
    const k = field('look-back k', same ? first.current.k : g.options.k);
    const note = el('div', 'menu-note', root);
    note.setAttribute('aria-live', 'polite');

    const actions = el('div', 'menu-actions', root);
    const stage = sites.length === 1 ? stageOf(g, first.id) : [];
    if (stage.length > 1) {
      // ResNet-style stages: every residual of the same shape next to this one, in one click.
      const whole = document.createElement('vscode-button');
      whole.setAttribute('appearance', 'secondary');
      whole.textContent = `Whole stage (${stage.length})`;
      whole.title = `The ${stage.length} residuals around ${first.merge} whose outputs have its shape`;
      whole.addEventListener('click', () => this.show(g, stage, x, y));
      actions.appendChild(whole);
    }
    const apply = document.createElement('vscode-button');
    apply.textContent = sites.length === 1 ? 'Apply' : `Apply to ${sites.length}`;
    const cancel = document.createElement('vscode-button');
    cancel.setAttribute('appearance', 'secondary');
    cancel.textContent = 'Cancel';
    actions.append(apply, cancel);

    const base = g.planDelta.baseParams;
    const unknownWidth = sites.filter((s) => s.width === null).length;
    const readonly = sites.filter((s) => s.readonly !== undefined);
    const read = (): { r: number; kk: number } | undefined => {
      const r = positiveInt(rank.value, 65_536);
      const kk = positiveInt(k.value, 1_024);
      return r === undefined || kk === undefined ? undefined : { r, kk };
    };
    const update = (): void => {
      const o = read();
      // r ≥ D is not low-rank: such sites get ⌊D/2⌋ on apply (capRank), priced and said so here.
      const r = o?.r ?? g.options.rank;
      // A .py line's LaurelResidual takes the rank as written (no cap), so its widths are priced as they are.
      const capped = sites.filter((s) => !s.widths && s.width !== null && r >= s.width);
      const capNote = capped.length ? `⚠ r=${r} ≥ D at ${capped.length} site(s) (D=${[...new Set(capped.map((s) => s.width))].join(', ')}): low-rank terms there get r=⌊D/2⌋` : '';
      const fixed = readonly.length ? `${readonly.map((s) => s.id).join(', ')} cannot be switched: ${readonly[0]!.readonly}` : '';
      note.textContent = !o ? 'rank and k must be positive integers' : [unknownWidth ? `${unknownWidth} site(s) of unknown width not priced` : '', capNote, fixed].filter(Boolean).join('; ');
      apply.toggleAttribute('disabled', !o || readonly.length === sites.length);
      for (const v of VARIANTS) {
        const row = rows.get(v)!;
        const choice = { variant: v, options: { ...g.options, rank: o?.r ?? g.options.rank, k: o?.kk ?? g.options.k } };
        row.label.textContent = variantLabel(choice);
        row.delta.textContent = menuDeltaText(sites, choice, base);
      }
    };
    rank.addEventListener('input', update);
    k.addEventListener('input', update);
    update();

    const submit = (): void => {
      const o = read();
      const picked = list.querySelector<HTMLInputElement>('input:checked');
      if (!o || !picked) return;
      this.onApply({ siteIds: sites.filter((s) => s.readonly === undefined).map((s) => s.id), variant: picked.value as Variant, rank: o.r, k: o.kk });
      this.close();
    };
    apply.addEventListener('click', submit);
    cancel.addEventListener('click', () => this.close());
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !(e.target as Element).closest('vscode-button')) {
        e.preventDefault();
        submit();
      }
    });

    root.hidden = false;
    // Keep the menu inside the view.
    const host = root.parentElement!;
    const w = root.offsetWidth;
    const h = root.offsetHeight;
    root.style.left = `${Math.max(8, Math.min(x + 12, host.clientWidth - w - 8))}px`;
    root.style.top = `${Math.max(8, Math.min(y + 12, host.clientHeight - h - 8))}px`;
    (list.querySelector<HTMLInputElement>('input:checked') ?? list.querySelector('input'))?.focus();
  }
}
