// What the view draws of a snapshot: residual blocks collapsed when the user asks, a large graph folded level
// by level (foldTree.ts), and the user's fold toggles (a double-click folds or unfolds one group). DOM-free.
import type { GraphSnapshot } from '../src/protocol/webviewProtocol';
import { collapseBlocks } from './collapse';
import { FOLD_PREFIX, foldLarge } from './foldTree';
import { foldedGroups, foldGroups } from './groupFold';

export class Folds {
  /** Groups the user folded or unfolded against their first state. */
  readonly toggles: Set<string>;
  private cache?: { source: GraphSnapshot; key: string; out: GraphSnapshot };

  constructor(saved: readonly string[] = []) {
    this.toggles = new Set(saved);
  }

  /** The snapshot with its blocks collapsed when asked and its levels folded when large (cached per snapshot). */
  structured(source: GraphSnapshot, collapsed: boolean, expanded: ReadonlySet<string>): GraphSnapshot {
    const collapse = collapsed && source.origin !== 'trace';
    const key = collapse ? [...expanded].sort().join('\n') : '-';
    if (this.cache?.source === source && this.cache.key === key) return this.cache.out;
    const out = foldLarge(collapse ? collapseBlocks(source, expanded) : source);
    this.cache = { source, key, out };
    return out;
  }

  /** What is drawn: every folded group as one box. */
  shown(g: GraphSnapshot): GraphSnapshot {
    return foldGroups(g, foldedGroups(g, this.toggles));
  }

  /** Groups that fold on a double-click: a .py model's module calls and the groups made for a large graph. */
  foldable(g: GraphSnapshot, id: string): boolean {
    return (g.origin === 'trace' || id.startsWith(FOLD_PREFIX)) && g.nodes.some((n) => n.id === id && n.group);
  }

  /** Whether the toolbar offers Fold all / Unfold all (instead of Collapse blocks). */
  hasFolds(g: GraphSnapshot): boolean {
    return g.origin === 'trace' || g.nodes.some((n) => n.group && n.id.startsWith(FOLD_PREFIX));
  }

  anyFolded(g: GraphSnapshot): boolean {
    return foldedGroups(g, this.toggles).size > 0;
  }

  toggle(id: string): void {
    if (!this.toggles.delete(id)) this.toggles.add(id);
  }

  /** Unfolds every foldable group while any is folded, else folds them all. */
  all(g: GraphSnapshot): void {
    const fold = !this.anyFolded(g);
    this.toggles.clear();
    const trace = g.origin === 'trace';
    for (const n of g.nodes) if (n.group && (trace || n.id.startsWith(FOLD_PREFIX)) && !!n.folded !== fold) this.toggles.add(n.id);
  }

  /** Unfolds the folded groups around node `id` (search, a CodeLens's "show in graph"); true when one was. */
  reveal(g: GraphSnapshot, id: string): boolean {
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const folded = foldedGroups(g, this.toggles);
    let changed = false;
    for (let p = byId.get(id)?.parent; p !== undefined; p = byId.get(p)?.parent) {
      if (folded.has(p)) {
        this.toggle(p);
        changed = true;
      }
    }
    return changed;
  }
}
