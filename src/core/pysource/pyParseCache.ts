/**
 * Incremental parsing of one document's Python text: the tree of an earlier version is cut into reusable
 * fragments around what changed (one range: the common prefix and suffix of the two texts), so an edit
 * reparses little more than the lines it touched (lezer's TreeFragment; a 2,000-line file takes tens of ms
 * from scratch). Fragments come only from the last tree without a syntax error: a tree of broken text holds
 * error-recovered nodes (a function body that swallowed the rest of the file) that lezer would reuse as they
 * are once the text is mended (seen with @lezer/python 1.1.19; pyStatic.test.ts checks the mended text
 * against a full parse). One cache per open document.
 */
import { TreeFragment } from '@lezer/common';
import type { Tree } from '@lezer/common';
import { parsePyText, parsePyTextSliced } from './pyRanges';

export class PyParseCache {
  private last: { text: string; tree: Tree } | null = null;
  /** The last error-free version and its fragments. */
  private good: { text: string; fragments: readonly TreeFragment[] } | null = null;

  /** The tree of `text`, reusing the last error-free version's where the texts agree. */
  parse(text: string): Tree {
    if (this.last?.text === text) return this.last.tree;
    const fragments = this.fragmentsFor(text);
    return this.keep(text, fragments, parsePyText(text, fragments));
  }

  /** The same, parsed in slices of `sliceMs` with `pause()` awaited between them (parsePyTextSliced). */
  async parseSliced(text: string, sliceMs: number, pause: () => Promise<void>): Promise<Tree> {
    if (this.last?.text === text) return this.last.tree;
    const fragments = this.fragmentsFor(text);
    const tree = await parsePyTextSliced(text, fragments, sliceMs, pause);
    // Building the tree was the parse's last step; keeping it walks it once more (hasError).
    await pause();
    // Another version may have been parsed while this one paused: the newest call's tree stays `last`.
    return this.last?.text === text ? this.last.tree : this.keep(text, fragments, tree);
  }

  private fragmentsFor(text: string): readonly TreeFragment[] {
    return this.good ? TreeFragment.applyChanges(this.good.fragments, [changed(this.good.text, text)]) : [];
  }

  private keep(text: string, fragments: readonly TreeFragment[], tree: Tree): Tree {
    this.last = { text, tree };
    if (!hasError(tree)) this.good = { text, fragments: TreeFragment.addTree(tree, fragments) };
    return tree;
  }
}

/** The one range where `a` and `b` differ (between their common prefix and suffix). */
function changed(a: string, b: string): { fromA: number; toA: number; fromB: number; toB: number } {
  const max = Math.min(a.length, b.length);
  let start = 0;
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && a.charCodeAt(a.length - 1 - end) === b.charCodeAt(b.length - 1 - end)) end++;
  return { fromA: start, toA: a.length - end, fromB: start, toB: b.length - end };
}

function hasError(tree: Tree): boolean {
  let found = false;
  tree.iterate({ enter: (n) => (found ||= n.type.isError) === false });
  return found;
}
