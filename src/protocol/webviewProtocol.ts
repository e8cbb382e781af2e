/**
 * Messages between the graph view (webview) and the extension host.
 *
 * Both unions are closed and keyed by a literal `type`. The host treats everything the webview sends as
 * untrusted: {@link validateWebviewMessage} checks every field before the host acts on it.
 *
 * Imported by the host (`src/extension/`) and the browser bundle (`webview/`): only pure core modules,
 * no `vscode`, DOM or `node:*` import may appear here.
 */

import { VARIANTS } from '../core/laurel/variants';
import type { Variant, VariantOptions } from '../core/laurel/variants';

/** A LAuReL variant name ('plain', 'rw', 'lr', 'pa', 'rw+lr', 'rw+pa', 'rw+lr+pa', 'gemma'). */
export type GraphVariant = Variant;

/** One call of a layer, drawn as a box. Nested models are nodes with `group: true` that hold their own calls. */
export interface GraphNode {
  /** Unique in the snapshot: the call id, prefixed by nested model names ('block/conv_1', 'dense#1'). */
  id: string;
  /** The layer's name (what search, reveal and the CodeLens use). */
  layer: string;
  className: string;
  /** Output shape(s) as text, '(?, 56, 56, 256)'; '?' when it could not be inferred. */
  outputShape: string;
  /** The layer's weights, counted at its first call; null when unknown; 0 for later calls of a shared layer. */
  params: number | null;
  trainable: number | null;
  nonTrainable: number | null;
  /** Id of the group (nested model node) this call belongs to; absent at the top level. */
  parent?: string;
  /** A nested model: its calls are the nodes whose `parent` is this id. */
  group?: boolean;
  /** Set on the merge node of a residual site. */
  residualSite?: string;
  /** Why params or the shape are unknown. */
  note?: string;
  /** The layer's config as [key, compact JSON] pairs (the properties panel), the `laurel` block included. */
  config?: [string, string][];
  /** A .py model: the source line a click reveals (where the module is called, or the op's line). */
  line?: number;
  /** A .py model: the source lines whose cursor highlights this box (its call, its ops' lines, its class). */
  lines?: number[];
  /** A group that starts folded into one box (repeated blocks, large models); the view can unfold it. */
  folded?: boolean;
}

/** A tensor flowing from one call to another. */
export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  /** The tensor's shape as text. */
  shape: string;
  /** Set on the shortcut edge of a residual site: the site's id. */
  residual?: string;
}

/** A residual connection that can be switched. */
export interface GraphSite {
  id: string;
  /** The merge layer's name. */
  merge: string;
  /** Node id of the merge call. */
  node: string;
  /** Edge id of the shortcut input. */
  edge: string;
  /** Width D (last axis of the merge output); null when unknown. */
  width: number | null;
  kind: 'identity' | 'projection';
  current: { variant: GraphVariant; rank: number; k: number; label: string };
  /**
   * PA terms that can exist here at any k: x_i and the earlier activations of its shape (a PA site
   * prices min(k, this)); absent: k terms.
   */
  paTerms?: number;
  /** Node ids on the branch path f(x), between the fork and the merge (what "collapse blocks" folds). */
  branchNodes: string[];
  /**
   * A .py residual line: one width per instance (the line's adds switch together, so prices sum them);
   * the other instances' shortcut edges carry this site's id too.
   */
  widths?: number[];
  /** A .py residual line: per instance, the PA terms it can have at any k (PA there prices min(k, this)). */
  paTermsList?: number[];
  /** A .py residual line's number. */
  line?: number;
  /** When the instances' shortcuts differ in kind: 'identity+projection'. */
  kindText?: string;
  /** Why this site cannot be switched (e.g. the add is inside library code). */
  readonly?: string;
}

/** Everything the graph view draws, built by the host from an analysed model. */
export interface GraphSnapshot {
  /** The file name. */
  title: string;
  /** The model's own name. */
  name: string;
  /** Format and container, e.g. 'tfjs-layers-model' or 'keras-json (json-string)'. */
  format: string;
  params: { total: number; trainable: number; nonTrainable: number };
  /** True when some layers are of unknown class, so the totals are a lower bound. */
  lowerBound: boolean;
  nodes: GraphNode[];
  edges: GraphEdge[];
  sites: GraphSite[];
  /** The options the menu prices with and a switch applies (the user's settings); the menu varies rank and k. */
  options: VariantOptions;
  /** What the file's current LAuReL layers add over the plain model. */
  planDelta: { baseParams: number; addedParams: number; percent: number; switched: number };
  /** Problems found by the analysis (shape errors), as messages. */
  problems: string[];
  /** 'trace': a .py model drawn from its measured forward pass (groups fold; a click reveals the source line). */
  origin?: 'trace';
}

/** Messages the webview sends to the host. */
export type WebviewToHost =
  /** Sent once the webview's script has loaded and listens; the host answers with a full snapshot. */
  | { type: 'ready' }
  /** Sent when the user applies a variant to one or more residual sites from the edge menu. */
  | { type: 'applyVariant'; siteIds: string[]; variant: GraphVariant; rank?: number; k?: number }
  /** Sent when the user asks to see a layer in the model file (double-click or context action on a node). */
  | { type: 'reveal'; layer: string; line?: number }
  /** Sent by Export SVG / PNG: `data` is SVG text or a `data:image/png;base64,` URL; the host saves it. */
  | { type: 'exportImage'; format: 'svg' | 'png'; data: string }
  /** Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) in the graph: undo or redo the model file. */
  | { type: 'undo' }
  | { type: 'redo' };

/** Messages the host sends to the webview. */
export type HostToWebview =
  /**
   * Sent after `ready` and whenever the model changes: the whole graph as UTF-8 JSON (a webview parses text
   * several times faster than it receives the same object: 20,000 layers, 10 MB, 0.25 s against 1.8 s; and
   * VS Code moves bytes as a buffer, where a text would be escaped into the message's JSON on the host).
   * `resource` is the file's URI, kept for restore.
   */
  | { type: 'snapshot'; graph: Uint8Array; version: number; resource: string }
  /** Sent when the model cannot be read or analysed (the view shows the message instead of the graph). */
  | { type: 'error'; message: string }
  /** Sent when the host asks the view to centre and highlight a layer (CodeLens "show in graph"). */
  | { type: 'focusLayer'; layer: string }
  /** A .py model's editor cursor is on this 1-based line (null: elsewhere): the view highlights that line's boxes. */
  | { type: 'cursorLine'; line: number | null };

/** Limits on untrusted input: more sites than any real model has, ids longer than any layer name. */
export const PROTOCOL_LIMITS = {
  maxSiteIds: 10_000,
  maxIdLength: 1_024,
  maxRank: 65_536,
  maxK: 1_024,
  /** A source line to reveal (the host clamps it to the document). */
  maxLine: 10_000_000,
  /** An exported image: tens of MB covers a PNG of a few-thousand-layer graph. */
  maxImageChars: 64 * 1024 * 1024,
} as const;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= PROTOCOL_LIMITS.maxIdLength;
const isCount = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= max;

/**
 * The message if `x` is a well-formed {@link WebviewToHost}, else undefined. Returns a fresh object holding
 * only the known fields, so nothing extra the webview sent reaches the host's handlers.
 */
export function validateWebviewMessage(x: unknown): WebviewToHost | undefined {
  if (!isObject(x) || typeof x.type !== 'string') return undefined;
  switch (x.type) {
    case 'ready':
    case 'undo':
    case 'redo':
      return { type: x.type };
    case 'applyVariant': {
      const { siteIds, variant, rank, k } = x;
      if (!Array.isArray(siteIds) || siteIds.length === 0 || siteIds.length > PROTOCOL_LIMITS.maxSiteIds) return undefined;
      if (!siteIds.every(isId)) return undefined;
      if (typeof variant !== 'string' || !(VARIANTS as readonly string[]).includes(variant)) return undefined;
      if (rank !== undefined && !isCount(rank, PROTOCOL_LIMITS.maxRank)) return undefined;
      if (k !== undefined && !isCount(k, PROTOCOL_LIMITS.maxK)) return undefined;
      const msg: WebviewToHost = { type: 'applyVariant', siteIds: [...new Set(siteIds as string[])], variant: variant as GraphVariant };
      if (rank !== undefined) msg.rank = rank;
      if (k !== undefined) msg.k = k;
      return msg;
    }
    case 'reveal': {
      if (!isId(x.layer)) return undefined;
      if (x.line === undefined) return { type: 'reveal', layer: x.layer };
      return isCount(x.line, PROTOCOL_LIMITS.maxLine) ? { type: 'reveal', layer: x.layer, line: x.line } : undefined;
    }
    case 'exportImage': {
      const { format, data } = x;
      if (format !== 'svg' && format !== 'png') return undefined;
      if (typeof data !== 'string' || data.length === 0 || data.length > PROTOCOL_LIMITS.maxImageChars) return undefined;
      if (format === 'png' && !/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/.test(data)) return undefined;
      if (format === 'svg' && !/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(data)) return undefined;
      return { type: 'exportImage', format, data };
    }
    default:
      return undefined;
  }
}
