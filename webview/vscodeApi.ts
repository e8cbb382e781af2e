// The one handle VS Code gives a webview; acquireVsCodeApi may be called only once per page.
import type { WebviewToHost } from '../src/protocol/webviewProtocol';

/** UI state only (the model stays in the host): restored after a reload or when the panel is shown again. */
export interface ViewState {
  resource?: string;
  view?: { x: number; y: number; k: number };
  selection?: string[];
  collapsed?: boolean;
  /** Tensor shapes written on the edges. */
  edgeShapes?: boolean;
  /** A .py graph's groups the user folded or unfolded against the snapshot's default (`folded`). */
  folds?: string[];
}

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();

export function post(msg: WebviewToHost): void {
  api.postMessage(msg);
}

export function loadState(): ViewState {
  const s = api.getState();
  return typeof s === 'object' && s !== null ? (s as ViewState) : {};
}

export function saveState(s: ViewState): void {
  api.setState(s);
}
