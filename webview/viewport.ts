// Pan (drag the background) and zoom (wheel at the cursor, buttons at the centre) of the graph's <g>.
import type { Box } from './layout';

export interface View {
  x: number;
  y: number;
  k: number;
}

const MIN_K = 0.03;
const MAX_K = 4;
/** Fit never goes below this: boxes and their labels stay readable (below 0.3 labels are hidden); scroll on. */
export const FIT_MIN_K = 0.4;

export class Viewport {
  view: View = { x: 0, y: 0, k: 1 };
  private drag: { id: number; x: number; y: number; moved: boolean } | undefined;

  constructor(
    private readonly host: HTMLElement,
    private readonly target: SVGGElement,
    private readonly onChange: (v: View) => void,
  ) {
    host.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    host.addEventListener('pointerdown', (e) => this.down(e));
    host.addEventListener('pointermove', (e) => this.move(e));
    host.addEventListener('pointerup', (e) => this.up(e));
    host.addEventListener('pointercancel', (e) => this.up(e));
  }

  /** True right after a drag, so the click that ends it does not count as a click. */
  get dragged(): boolean {
    return this.drag?.moved ?? false;
  }

  set(v: View): void {
    this.view = { x: v.x, y: v.y, k: Math.min(MAX_K, Math.max(MIN_K, v.k)) };
    this.target.setAttribute('transform', `translate(${this.view.x} ${this.view.y}) scale(${this.view.k})`);
    this.onChange(this.view);
  }

  /** Zoom by `factor` keeping the screen point (px, py) fixed; the centre by default. */
  zoom(factor: number, px = this.host.clientWidth / 2, py = this.host.clientHeight / 2): void {
    const { x, y, k } = this.view;
    const k2 = Math.min(MAX_K, Math.max(MIN_K, k * factor));
    this.set({ k: k2, x: px - ((px - x) * k2) / k, y: py - ((py - y) * k2) / k });
  }

  /**
   * Show the whole box (graph coordinates), never enlarged past 1:1 and never shrunk below FIT_MIN_K: a long
   * chain then shows its start, centred across, and the wheel scrolls along it.
   */
  fit(b: Box, margin = 24): void {
    const w = Math.max(1, this.host.clientWidth - 2 * margin);
    const h = Math.max(1, this.host.clientHeight - 2 * margin);
    const k = Math.max(FIT_MIN_K, Math.min(1, w / Math.max(1, b.width), h / Math.max(1, b.height)));
    const x = b.width * k <= w ? margin + (w - b.width * k) / 2 - b.x * k : margin - b.x * k;
    const y = b.height * k <= h ? margin + (h - b.height * k) / 2 - b.y * k : margin - b.y * k;
    this.set({ k, x, y });
  }

  /** Bring a box (graph coordinates) into view at the current zoom, moving as little as needed. */
  reveal(b: Box, margin = 40): void {
    const { x, y, k } = this.view;
    const W = this.host.clientWidth;
    const H = this.host.clientHeight;
    const left = b.x * k + x;
    const top = b.y * k + y;
    const dx = left < margin ? margin - left : left + b.width * k > W - margin ? W - margin - (left + b.width * k) : 0;
    const dy = top < margin ? margin - top : top + b.height * k > H - margin ? H - margin - (top + b.height * k) : 0;
    if (dx || dy) this.set({ k, x: x + dx, y: y + dy });
  }

  /** Centre on a box at zoom k (at least readable). */
  centre(b: Box, k = Math.max(this.view.k, 0.9)): void {
    const kk = Math.min(MAX_K, k);
    this.set({ k: kk, x: this.host.clientWidth / 2 - (b.x + b.width / 2) * kk, y: this.host.clientHeight / 2 - (b.y + b.height / 2) * kk });
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.host.getBoundingClientRect();
    // Pixel-mode deltas from trackpads are small and many; line-mode wheels give a few big steps.
    const unit = e.deltaMode === 1 ? 16 : 1;
    // Ctrl/Cmd + wheel (and a trackpad pinch, which sets ctrlKey) zooms at the cursor; the wheel alone scrolls.
    if (e.ctrlKey || e.metaKey) return this.zoom(Math.exp(-e.deltaY * unit * 0.0015), e.clientX - r.left, e.clientY - r.top);
    const [dx, dy] = e.shiftKey && !e.deltaX ? [e.deltaY, 0] : [e.deltaX, e.deltaY];
    this.set({ ...this.view, x: this.view.x - dx * unit, y: this.view.y - dy * unit });
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0) return;
    // Edges and menus handle their own clicks; drag only from the background and the node boxes.
    if ((e.target as Element).closest('.residual-hit, .menu, .toolbar')) return;
    this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
  }

  private move(e: PointerEvent): void {
    const d = this.drag;
    if (!d || d.id !== e.pointerId) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (!d.moved && Math.abs(dx) + Math.abs(dy) < 3) return;
    if (!d.moved) this.host.setPointerCapture(e.pointerId);
    d.moved = true;
    d.x = e.clientX;
    d.y = e.clientY;
    this.host.classList.add('panning');
    this.set({ ...this.view, x: this.view.x + dx, y: this.view.y + dy });
  }

  private up(e: PointerEvent): void {
    if (!this.drag || this.drag.id !== e.pointerId) return;
    this.host.classList.remove('panning');
    const moved = this.drag.moved;
    // Keep `dragged` true through the click event that follows pointerup.
    setTimeout(() => {
      if (this.drag?.id === e.pointerId && this.drag.moved === moved) this.drag = undefined;
    }, 0);
  }
}
