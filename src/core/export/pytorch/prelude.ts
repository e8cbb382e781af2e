/**
 * The fixed part of an exported PyTorch file: the runtime helpers in src/python/ (TF/Keras semantics, Keras
 * initializers, LaurelResidual), bundled as text at build time so there is one copy of each. The per-model part is
 * generated after them; the core itself reads no files.
 */
import kerasInit from '../../../python/keras_init.py';
import kerasLayers from '../../../python/keras_layers.py';
import kerasSequence from '../../../python/keras_sequence.py';
import laurelResidual from '../../../python/laurel_residual.py';

/** The helper files, in the order they are concatenated (each imports what it uses, so repeats are harmless). */
export const PRELUDE_FILES: readonly [string, string][] = [
  ['keras_layers.py', kerasLayers],
  ['keras_sequence.py', kerasSequence],
  ['keras_init.py', kerasInit],
  ['laurel_residual.py', laurelResidual],
];

/** A module's text without its leading docstring (the exported file has one docstring, the generated header). */
function withoutDocstring(source: string): string {
  const m = /^\s*(?:"""[^]*?"""|'''[^]*?''')\s*\n/.exec(source);
  return m ? source.slice(m[0].length) : source;
}

/** Every helper file, each under a banner naming its source. */
export const PRELUDE = PRELUDE_FILES.map(([name, text]) => `# ${'-'.repeat(40)} ${name} (LAuReL Studio) ${'-'.repeat(40)}\n${withoutDocstring(text).trim()}\n`).join('\n\n');

/**
 * Module-level names the prelude defines (imports, functions, classes, constants), read from the files
 * themselves: generated identifiers must not shadow them.
 */
export const PRELUDE_NAMES: readonly string[] = [
  ...new Set(
    PRELUDE_FILES.flatMap(([, text]) =>
      [...text.matchAll(/^(?:def|class) ([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=|^import (\w+)$|^import [\w.]+ as (\w+)$|^from [\w.]+ import (\w+)(?: as (\w+))?$/gm)].map(
        (m) => m[6] ?? m[5] ?? m[4] ?? m[3] ?? m[2] ?? m[1]!,
      ),
    ),
  ),
];
