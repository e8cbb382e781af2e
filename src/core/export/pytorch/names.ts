/** Python identifiers for layer names: valid, unique, and clear of keywords and of what a module already has. */
import { PRELUDE_NAMES } from './prelude';

const KEYWORDS = [
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else',
  'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise',
  'return', 'try', 'while', 'with', 'yield', 'match', 'case',
];
/** Builtins a generated forward() may call, and the attributes every nn.Module has (`self.<name>` must not clash). */
const TAKEN = [
  'self', 'sum', 'min', 'max', 'len', 'range', 'list', 'dict', 'tuple', 'int', 'float', 'str', 'type', 'input', 'id', 'super',
  'object', 'zip', 'enumerate', 'map', 'filter', 'all', 'any', 'abs', 'round', 'set', 'print', 'slice',
  'training', 'forward', 'train', 'eval', 'parameters', 'named_parameters', 'buffers', 'named_buffers', 'children',
  'named_children', 'modules', 'named_modules', 'state_dict', 'load_state_dict', 'to', 'to_empty', 'cuda', 'cpu', 'xpu', 'ipu',
  'double', 'half', 'bfloat16', 'apply', 'zero_grad', 'register_buffer', 'register_parameter', 'register_module', 'add_module',
  'get_submodule', 'get_parameter', 'get_buffer', 'get_extra_state', 'set_extra_state', 'requires_grad_', 'share_memory',
  'extra_repr', 'dump_patches', 'call_super_init', 'register_forward_hook', 'register_forward_pre_hook', 'register_backward_hook',
  'register_full_backward_hook', 'register_full_backward_pre_hook', 'register_load_state_dict_post_hook', 'KERAS_NAMES', 'TFJS_WEIGHTS', 'KERAS_INIT',
];

export const RESERVED: ReadonlySet<string> = new Set([...KEYWORDS, ...TAKEN, ...PRELUDE_NAMES]);

/** Generated identifiers stay readable: a longer name is cut (NameTable keeps the cut ones unique). */
const MAX_IDENTIFIER = 64;

/**
 * A valid ASCII Python identifier resembling `name` ('conv2d/1' -> 'conv2d_1', '1x1' -> 'l_1x1'): the only
 * way a model's name becomes code. Anything but [A-Za-z0-9_] becomes '_', so no name can reach syntax.
 */
export function pythonIdentifier(name: string): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, MAX_IDENTIFIER);
  // Leading underscores would reach torch's own `_parameters`, `_modules`, ...
  if (!id || /^[0-9_]/.test(id)) id = `l_${id}`;
  return id;
}

/** Hands out identifiers, each once: a clash gets `_2`, `_3`, ... */
export class NameTable {
  private readonly used = new Set<string>(RESERVED);

  take(wanted: string): string {
    const base = pythonIdentifier(wanted);
    let id = base;
    for (let i = 2; this.used.has(id); i++) id = `${base}_${i}`;
    this.used.add(id);
    return id;
  }
}

/** 'resnet_mini' -> 'ResnetMini': the default class name. */
export function pascalCase(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const id = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  const cut = id.slice(0, MAX_IDENTIFIER);
  // 'none' -> 'None', 'f' -> 'F': a keyword or a prelude name gets the prefix too.
  return /^[A-Za-z]/.test(cut) && !RESERVED.has(cut) ? cut : `Model${cut}`;
}
