import { basename } from 'node:path';
import { shapeOf } from '../core/analysis/analyze';
import { analyzeAtInput, freeInputSize } from '../core/analysis/freeInputSize';
import { toPyTorch } from '../core/export/pytorch';
import { costPlan } from '../core/laurel/planCost';
import { parsePlan, resolvePlan } from '../core/laurel/planSpec';
import type { VariantChoice } from '../core/laurel/variants';
import type { ModelGraph } from '../core/ir';
import type { OpenModel } from '../core/model';
import { toKerasTopology } from '../core/export/kerasTopology';
import { buildModel, UnsupportedModelError, unsupportedLayers } from '../laurel/buildModel';
import type { Task } from './data/loadDataset';
import { FREE_DIM } from './data/synthetic';
import { estimateTrainingMemory } from './memoryEstimate';
import type { RunSpec } from './run';
import { outputActivation } from './trainingGraph';

/**
 * One run of a model file: the file as it is (`planSpec` absent) or with a plan applied. Parameter
 * figures come from core's exact costing; the model is built fresh (seeded by the caller) per run.
 */
export function planRun(m: OpenModel, planSpec?: string, build: typeof buildModel = buildModel): RunSpec {
  const choices: Map<string, VariantChoice> | undefined = planSpec === undefined ? undefined : resolvePlan(parsePlan(planSpec), m.sites);
  const cost = costPlan(m.sites, choices ?? new Map(m.sites.map((s) => [s.id, s.current])), m.params.total);
  return {
    name: planSpec ?? basename(m.doc.fileName),
    build: () => build(m, choices),
    pytorch: () => toPyTorch(m, choices),
    tfjsProblem: () => {
      const problems = unsupportedLayers(toKerasTopology(m, choices));
      return problems.length ? new UnsupportedModelError(problems).message.replace(/^cannot train: /, '') : undefined;
    },
    model: { file: m.doc.fileName, name: m.doc.graph.name },
    plan: { spec: planSpec ?? null, sites: cost.sites.map((s) => ({ id: s.site, variant: s.label })) },
    baseParams: cost.baseParams,
    addedParams: cost.addedParams,
    addedMacs: cost.macs,
    // The plan's LAuReL layers: their parameters and the activations core prices per example.
    // A free input size (sequence length, image size) is priced at the data's own.
    memory: (engine, batch, optimizer, dataBytes, sampleShapes) => {
      const analysis = (sampleShapes && analyzeAtInput(m.doc, m.analysis, sampleShapes.map((s) => [null, ...s]))) || m.analysis;
      return estimateTrainingMemory({ analysis, params: cost.baseParams + cost.addedParams, extraElements: cost.activations ?? 0, engine, batch, optimizer, dataBytes });
    },
  };
}

/** What the data must fit: the model's input and its (one) training output, as the core infers them. */
export function taskOf(m: OpenModel): Task {
  const g = m.doc.graph;
  const input = g.inputs[0] && shapeOf(m.analysis, g.inputs[0]);
  const output = g.outputs[0] && shapeOf(m.analysis, g.outputs[0]);
  if (!input || !output) throw new Error(`${basename(m.doc.fileName)}: the input or output shape could not be inferred, so no data set can be matched to it`);
  if (g.outputs.length > 1) throw new Error(`${basename(m.doc.fileName)}: training takes one output (this model has ${g.outputs.length}); pick one with trainingModel`);
  const embedding = embeddingOf(g, g.inputs[0]!.node);
  const free = freeInputSize(m.doc, m.analysis, FREE_DIM);
  const outputAtSize = free && shapeOf(free.analysis, g.outputs[0]!);
  const why = free?.searched ? { why: `the model does not accept ${FREE_DIM}; ${free.size} is the ${free.size > FREE_DIM ? 'smallest' : 'largest'} size its layers accept` } : {};
  const freeSize = free ? { size: free.size, ...why, ...(outputAtSize ? { outputShape: outputAtSize } : {}) } : undefined;
  // A single sigmoid unit trains with binary cross-entropy in both engines (lossFor), so its targets are 0/1.
  const binary = output.at(-1) === 1 && outputActivation(m, g.outputs[0]!) === 'sigmoid';
  return { inputShape: input, outputShape: output, ...(binary ? { loss: 'binaryCrossentropy' } : {}), ...(embedding ? { tokenIds: embedding } : {}), ...(freeSize ? { freeSize } : {}), ...severalInputs(m) };
}

/** Every input of a model with several (name, shape, vocabulary), and the one nearest the output. */
function severalInputs(m: OpenModel): Pick<Task, 'inputs' | 'mainInput'> {
  const g = m.doc.graph;
  if (g.inputs.length < 2) return {};
  const inputs = g.inputs.map((t) => {
    const shape = shapeOf(m.analysis, t);
    if (!shape) throw new Error(`${basename(m.doc.fileName)}: the shape of input '${t.node}' could not be inferred, so no data set can be matched to it`);
    const ids = embeddingOf(g, t.node);
    return { name: g.nodes.find((n) => n.id === t.node)?.layer ?? t.node, shape, ...(ids ? { tokenIds: ids } : {}) };
  });
  // Calls between each input and the output (breadth first from the output): a seq2seq decoder's input is nearer than the encoder's.
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const hops = new Map<string, number>([[g.outputs[0]!.node, 0]]);
  const queue = [g.outputs[0]!.node];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const t of byId.get(id)?.inputs ?? []) {
      if (hops.has(t.node)) continue;
      hops.set(t.node, hops.get(id)! + 1);
      queue.push(t.node);
    }
  }
  const distance = g.inputs.map((t) => hops.get(t.node) ?? Infinity);
  return { inputs, mainInput: distance.indexOf(Math.min(...distance)) };
}

/** The Embedding an input feeds (directly, or as the first layer of a nested model), with its vocabulary. */
function embeddingOf(g: ModelGraph, inputNode: string): { vocabulary: number; layer: string } | undefined {
  for (const n of g.nodes) {
    if (!n.inputs.some((t) => t.node === inputNode)) continue;
    const layer = g.layers.find((l) => l.name === n.layer)!;
    if (layer.className === 'Embedding' && typeof layer.config['input_dim'] === 'number') return { vocabulary: layer.config['input_dim'], layer: layer.name };
    const sub = layer.subgraph;
    if (sub && sub.inputs[0]) {
      const inner = embeddingOf(sub, sub.inputs[0].node);
      if (inner) return inner;
    }
  }
  return undefined;
}
