/**
 * A cheap test of whether a JSON document is a model file, run on every JSON document VS Code opens:
 * only its first characters are looked at, nothing is parsed. No `vscode` import (unit-tested).
 */

/** How many characters of a document the sniff reads. */
export const SNIFF_CHARS = 4096;

/**
 * Keras `to_json()` and Keras 3 config.json start with `class_name` and `config`; a TF.js model.json has
 * `modelTopology` near its top. A doubly encoded model (a JSON string) still has the bare words.
 */
export function looksLikeModelText(text: string): boolean {
  const head = text.slice(0, SNIFF_CHARS);
  return head.includes('modelTopology') || (head.includes('class_name') && head.includes('config'));
}

/** `.keras` archives are binary: they are recognised by name (and read by content when opened). */
export const isKerasArchiveName = (path: string): boolean => /\.keras$/i.test(path);

/**
 * A Python text that defines a torch module (`class Net(nn.Module):`, `torch.nn.Module`, `Module`): Train and
 * Compare are offered on it. A regular expression over the text, run when the active editor changes.
 */
export function looksLikePyModel(text: string): boolean {
  return /^[ \t]*class[ \t]+\w+[ \t]*\([^)]*\bModule\b/m.test(text);
}
