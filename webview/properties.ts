// The properties panel of a box (as Netron's sidebar): class, output shape, parameters, why a count is
// unknown, and the layer's config, the `laurel` block included. All text via textContent: names and
// values come from the model file.
import type { GraphNode } from '../src/protocol/webviewProtocol';
import { formatCount } from './format';

export class PropertiesPanel {
  readonly root: HTMLElement;
  private readonly body: HTMLElement;
  shownId: string | undefined;

  constructor(parent: HTMLElement) {
    this.root = document.createElement('aside');
    this.root.className = 'props';
    this.root.hidden = true;
    this.root.setAttribute('aria-label', 'Layer properties');
    const close = document.createElement('button');
    close.className = 'props-close';
    close.textContent = '×';
    close.title = 'Close (Escape)';
    close.addEventListener('click', () => this.hide());
    this.body = document.createElement('div');
    this.root.append(close, this.body);
    // The canvas under it pans and zooms on these: the panel scrolls and selects text instead.
    for (const t of ['pointerdown', 'wheel', 'dblclick', 'click']) this.root.addEventListener(t, (e) => e.stopPropagation());
    parent.appendChild(this.root);
  }

  show(n: GraphNode): void {
    this.shownId = n.id;
    this.body.replaceChildren();
    const add = (tag: string, cls: string, text: string, into: HTMLElement = this.body): HTMLElement => {
      const e = document.createElement(tag);
      e.className = cls;
      e.textContent = text;
      into.appendChild(e);
      return e;
    };
    add('h3', 'props-title', n.layer);
    add('div', 'props-class', n.className);
    const dl = document.createElement('dl');
    const row = (k: string, v: string): void => {
      add('dt', '', k, dl);
      add('dd', '', v, dl);
    };
    row('output', n.outputShape);
    row('params', n.params === null ? '? (unknown)' : `${formatCount(n.params)} (trainable ${formatCount(n.trainable)}, non-trainable ${formatCount(n.nonTrainable)})`);
    if (n.note) row('note', n.note);
    if (n.residualSite) row('residual', n.residualSite);
    this.body.appendChild(dl);
    if (n.config?.length) {
      add('h4', 'props-section', 'config');
      const cfg = document.createElement('dl');
      cfg.className = 'props-config';
      for (const [k, v] of n.config) {
        add('dt', k === 'laurel' ? 'laurel' : '', k, cfg);
        add('dd', k === 'laurel' ? 'laurel' : '', v, cfg);
      }
      this.body.appendChild(cfg);
    }
    this.root.hidden = false;
  }

  hide(): void {
    this.root.hidden = true;
    this.shownId = undefined;
  }
}
