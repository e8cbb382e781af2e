/**
 * What the views ask of a model document, answered by the analysis worker so that the extension host holds
 * no model and runs no analysis: where a layer is (a click), what a hover says, the graph view's snapshot,
 * the Residuals view's rows and a site's variants, and what each command needs (commandFacts.ts). A .keras
 * archive (no text) is answered on the host.
 */
import * as vscode from 'vscode';
import type { OpenModel } from '../core/model';
import { DEFAULT_OPTIONS, type VariantOptions } from '../core/laurel/variants';
import { documentPositions } from './documentPositions';
import type { DocumentTexts } from './documentText';
import type { LensEngine } from './lensEngine';
import type { CommandResult, GraphResult, LensError, ResidualsResult } from './lensJob';
import { commandAnswer, type CommandQuery } from './commandFacts';
import { isKerasArchiveName } from './modelSniff';
import { residualRows, siteVariants, type VariantItem } from './residualTreeItems';

/** What the queries use of the model controller. */
export interface QuerySource {
  engine: LensEngine;
  texts: DocumentTexts<vscode.TextDocument>;
  label(uri: vscode.Uri): string;
  options(): VariantOptions;
  isModel(doc: vscode.TextDocument): boolean;
  /** The model itself (for a .keras archive). */
  fromUri(uri: vscode.Uri): Promise<{ ok: true; model: OpenModel } | { ok: false; error: Error }>;
}

/** The text document of `uri`, opened when it is not yet; undefined for a .keras archive. */
export async function textDocument(uri: vscode.Uri): Promise<vscode.TextDocument | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open;
  return isKerasArchiveName(uri.path) ? undefined : vscode.workspace.openTextDocument(uri);
}

export class ModelQueries {
  constructor(private readonly src: QuerySource) {}

  /**
   * The range of layer `layer` (in nested model `scope`, else searched) in an open model document:
   * found in the analysis worker for a large text, so a click never reads the model, builds its text
   * tree or scans its lines on the host. Undefined when the document is not the model text (a JSON
   * string), lacks the layer, fails to read, or changed meanwhile.
   */
  async layerRange(doc: vscode.TextDocument, layer: string, scope?: readonly string[]): Promise<vscode.Range | undefined> {
    const version = doc.version;
    const r = await this.src.engine.locate(doc.uri.toString(), { fileName: this.src.label(doc.uri), text: await this.src.texts.get(doc), layer, ...(scope ? { scope } : {}) });
    if (!r?.ok || !r.span || doc.isClosed || doc.version !== version) return undefined;
    return documentPositions(doc).range(r.span);
  }

  /**
   * What a hover at `pos` says of a layer whose count is unknown, found in the analysis worker (the host
   * holds no model). Undefined when there is nothing to say there, or the document changed meanwhile.
   */
  async hoverAt(doc: vscode.TextDocument, pos: vscode.Position): Promise<{ range: vscode.Range; text: string } | undefined> {
    if (!this.src.isModel(doc)) return undefined;
    const version = doc.version;
    const positions = documentPositions(doc);
    const r = await this.src.engine.hover(doc.uri.toString(), { fileName: this.src.label(doc.uri), text: await this.src.texts.get(doc), offset: positions.modelOffset(pos) });
    if (!r?.ok || !r.hit || doc.isClosed || doc.version !== version) return undefined;
    return { range: positions.range(r.hit.span), text: r.hit.text };
  }

  /**
   * The graph view's snapshot of an open model document as UTF-8 JSON, built in the analysis worker and
   * passed on untouched. Undefined when it is not a model document, or newer text superseded this one.
   */
  async graphText(doc: vscode.TextDocument): Promise<GraphResult | undefined> {
    if (!this.src.isModel(doc)) return undefined;
    return this.src.engine.graph(doc.uri.toString(), { fileName: this.src.label(doc.uri), text: await this.src.texts.get(doc), options: DEFAULT_OPTIONS });
  }

  /**
   * The Residuals view's rows of the model at `uri` (sites without their variants, which `siteVariants`
   * gives when a row opens): made in the analysis worker for a text file, so an edit of a large model costs
   * the host neither the model's copy nor the tree (20,000 layers: ~140 + ~160 ms CPU on the host before).
   */
  async residuals(uri: vscode.Uri): Promise<ResidualsResult | { ok: false; error: LensError } | undefined> {
    const doc = await textDocument(uri);
    if (doc) return this.src.isModel(doc) ? this.src.engine.residuals(doc.uri.toString(), { fileName: this.src.label(uri), text: await this.src.texts.get(doc), options: this.src.options() }) : { ok: false, error: { message: 'not a model file' } };
    const state = await this.src.fromUri(uri);
    if (!state.ok) return { ok: false, error: { message: state.error.message } };
    return { ok: true, ...residualRows(state.model, this.src.options()), ms: 0 };
  }

  /** The variant rows of one site of the model at `uri` (empty when it has no such site now). */
  async siteVariants(uri: vscode.Uri, siteId: string): Promise<VariantItem[]> {
    const doc = await textDocument(uri);
    if (doc) {
      const r = await this.src.engine.variants(doc.uri.toString(), { fileName: this.src.label(uri), text: await this.src.texts.get(doc), options: this.src.options(), layer: siteId });
      return r?.ok ? r.variants : [];
    }
    const state = await this.src.fromUri(uri);
    return state.ok ? (siteVariants(state.model, siteId, this.src.options()) ?? []) : [];
  }

  /**
   * What a command needs of the model at `uri` (a quick pick's items, the summary, the outputs...), made in
   * the analysis worker for a text file: the host gets the answer, never the model. Undefined when another
   * request of the same command on the same text superseded this one (that one goes ahead).
   */
  async command(uri: vscode.Uri, query: CommandQuery): Promise<CommandResult | undefined> {
    const doc = await textDocument(uri);
    if (!doc) {
      const state = await this.src.fromUri(uri);
      if (!state.ok) return { ok: false, error: { message: state.error.message }, ms: 0 };
      return { ok: true, answer: commandAnswer(state.model, query, this.src.options()), ms: 0 };
    }
    for (;;) {
      if (!this.src.isModel(doc)) return { ok: false, error: { message: `${this.src.label(uri)} does not look like a model file` }, ms: 0 };
      const version = doc.version;
      const r = await this.src.engine.command(doc.uri.toString(), { fileName: this.src.label(uri), text: await this.src.texts.get(doc), options: this.src.options(), query });
      if (r) return r;
      // Superseded by newer text: ask again for the text as it is now.
      if (doc.isClosed || doc.version === version) return undefined;
    }
  }
}
