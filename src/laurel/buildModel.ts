/**
 * A trainable tf.LayersModel from any model the core reads, with a LAuReL plan applied: the IR's topology
 * (core/export/kerasTopology) handed to tfjs's own deserialiser, after checking that tfjs has every class
 * and setting it needs, so a gap reads as one clear message instead of a failure deep inside tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { toKerasTopology } from '../core/export/kerasTopology';
import type { KerasLayerJson, KerasTopology } from '../core/export/kerasTopology';
import type { VariantChoice } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { fixBatchNormWithoutWeights } from './batchNormFix';
import { registerLaurelLayers } from './laurelResidual';

/** One layer tfjs cannot build as the file describes it. */
export interface UnsupportedLayer {
  name: string;
  className: string;
  reason: string;
}

/** The model uses layers, settings or helpers TensorFlow.js does not provide. */
export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
  constructor(readonly layers: UnsupportedLayer[]) {
    const shown = layers.slice(0, 5).map((l) => `layer '${l.name}' ${l.reason}`);
    const more = layers.length > 5 ? `; and ${layers.length - 5} more` : '';
    super(`cannot train: ${shown.join('; ')}${more}`);
  }
}

/** Builds the model (fresh weights) with each site's choice; sites absent from `choices` keep the file's variant. */
export async function buildModel(m: OpenModel, choices?: Map<string, VariantChoice>): Promise<tf.LayersModel> {
  registerLaurelLayers();
  const topology = toKerasTopology(m, choices);
  const problems = unsupportedLayers(topology);
  if (problems.length) throw new UnsupportedModelError(problems);
  try {
    const model = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });
    fixBatchNormWithoutWeights(model);
    return model;
  } catch (e) {
    throw new Error(`cannot build ${m.doc.fileName} in TensorFlow.js: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const registered = (className: string): boolean => className in tf.serialization.SerializationMap.getMap().classNameMap;

/** tfjs' spelling of a config string (what modelFromJSON turns it into before looking it up). */
const camel = (s: string): string => (s.includes('_') ? s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) : s);

/** Every layer of the topology whose class or settings tfjs lacks (wrapped layers included). */
export function unsupportedLayers(topology: KerasTopology): UnsupportedLayer[] {
  const out: UnsupportedLayer[] = [];
  for (const layer of topology.config.layers) {
    const reason = layerProblem(layer.class_name, layer.config);
    if (reason) out.push({ name: layer.name, className: layer.class_name, reason });
  }
  return out;
}

function layerProblem(className: string, config: Record<string, unknown>): string | undefined {
  if (!registered(className)) return `is ${className}, which TensorFlow.js does not provide`;
  const setting = settingProblem(className, config);
  if (setting) return `is ${className} with ${setting}, which TensorFlow.js does not support`;
  for (const key of ['layer', 'backward_layer']) {
    const inner = config[key] as KerasLayerJson | undefined;
    if (inner && typeof inner === 'object' && typeof inner.class_name === 'string') {
      const r = layerProblem(inner.class_name, (inner.config ?? {}) as Record<string, unknown>);
      if (r) return `wraps a layer that ${r}`;
    }
  }
  return helperProblem(config);
}

/**
 * Settings tfjs would silently ignore, giving another model (other weights or shapes) than the file's:
 * grouped convolutions, kept pooled axes, leaky / thresholded ReLU, RMS-scaled layer norm, a Bidirectional
 * whose backward RNN differs from its forward one, dtypes other than float32 / int32 / bool.
 */
function settingProblem(className: string, c: Record<string, unknown>): string | undefined {
  if (typeof c['groups'] === 'number' && c['groups'] > 1) return `groups=${c['groups']}`;
  if (className.startsWith('Global') && c['keepdims'] === true) return 'keepdims=true';
  if (className === 'ReLU' && ((typeof c['negative_slope'] === 'number' && c['negative_slope'] !== 0) || (typeof c['threshold'] === 'number' && c['threshold'] !== 0))) {
    return `negative_slope=${c['negative_slope'] ?? 0}, threshold=${c['threshold'] ?? 0}`;
  }
  if (className === 'LayerNormalization' && c['rms_scaling'] === true) return 'rms_scaling=true';
  // tfjs's GlobalPooling1D has no data_format: it pools axis 1 whatever the file says.
  if (/^Global(Average|Max)Pooling1D$/.test(className) && /^channels_?first$/i.test(String(c['data_format']))) return 'data_format=channels_first';
  // tfjs makes the backward RNN from the forward one and ignores a backward_layer of its own.
  const fwd = c['layer'] as { class_name?: unknown; config?: Record<string, unknown> } | undefined;
  const bwd = c['backward_layer'] as typeof fwd;
  if (className === 'Bidirectional' && fwd && bwd && (fwd.class_name !== bwd.class_name || fwd.config?.['units'] !== bwd.config?.['units'])) {
    return 'a backward_layer unlike its forward layer';
  }
  if (typeof c['dtype'] === 'string' && !['float32', 'int32', 'bool'].includes(c['dtype'])) return `dtype ${c['dtype']}`;
  return undefined;
}

const HELPER_KEYS = /(_initializer|_regularizer|_constraint)$/;

/** Initialisers, regularisers, constraints and activations tfjs does not register. */
function helperProblem(config: Record<string, unknown>): string | undefined {
  for (const [key, v] of Object.entries(config)) {
    if ((key === 'activation' || key === 'recurrent_activation') && typeof v === 'string' && !registered(camel(v))) {
      return `uses activation '${v}', which TensorFlow.js does not provide`;
    }
    if (!HELPER_KEYS.test(key) || v === null || v === undefined) continue;
    const cls = typeof v === 'string' ? undefined : (v as { class_name?: unknown }).class_name;
    if (typeof cls === 'string' && !registered(cls)) return `uses ${key.replace(/_/g, ' ')} ${cls}, which TensorFlow.js does not provide`;
  }
  return undefined;
}
