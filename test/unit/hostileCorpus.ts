/**
 * Hostile inputs kept as data, each with the outcome it must have. Names go into model, class and layer
 * names of real files; a payload that would run shows up as a marker file that must never appear.
 */

export interface HostileName {
  label: string;
  /** The name, given the marker file a successful injection would create. */
  name: (marker: string) => string;
  /** The PyTorch export refuses it, naming the layer (default: exported, escaped, imports and runs). */
  pytorchRefuses?: true;
}

/** A line of Python at forward()'s indentation that creates the marker: what a name must never become. */
const payload = (marker: string): string => `__import__("pathlib").Path(${JSON.stringify(marker)}).touch()`;
const indent = '        ';

/** Every line break a reader might honour: Python's own (\n, \r, \r\n), str.splitlines()'s, and Unicode's. */
export const LINE_BREAKS: [string, string][] = [
  ['LF', '\n'],
  ['CR', '\r'],
  ['CRLF', '\r\n'],
  ['FF LF', '\f\n'],
  ['VT', '\v'],
  ['FF', '\f'],
  ['FS', '\x1c'],
  ['GS', '\x1d'],
  ['RS', '\x1e'],
  ['NEL', '\x85'],
  ['LS', '\u2028'],
  ['PS', '\u2029'],
];

export const HOSTILE_NAMES: HostileName[] = [
  ...LINE_BREAKS.map(([label, br]): HostileName => ({ label: `${label} then code`, name: (m) => `add${br}${indent}${payload(m)}  #` })),
  ...LINE_BREAKS.map(([label, br]): HostileName => ({ label: `${label} then code at column 0`, name: (m) => `add${br}${payload(m)}${br}` })),
  { label: 'NUL', name: () => 'a\0b' },
  { label: 'NUL then code', name: (m) => `a\0\n${indent}${payload(m)}` },
  { label: 'double quote', name: () => 'a"b' },
  { label: 'single quote', name: () => "a'b" },
  { label: 'triple double quotes', name: (m) => `"""; ${payload(m)}; """` },
  { label: 'triple single quotes', name: (m) => `'''; ${payload(m)}; '''` },
  { label: 'trailing quote', name: () => 'x"' },
  { label: 'backslash', name: () => 'a\\b' },
  { label: 'trailing backslash', name: () => 'ab\\' },
  { label: 'backslash newline', name: (m) => `a\\\n${indent}${payload(m)}` },
  { label: 'escape sequences as text', name: () => '\\n\\x00\\u2028' },
  { label: 'lone surrogate', name: () => 'a\ud800b', pytorchRefuses: true },
  { label: 'bidi override', name: () => 'a\u202e\u2066b' },
  { label: 'zero-width space', name: () => 'a\u200bb' },
  { label: 'non-ASCII letters and emoji', name: () => 'сложение_加法_😀' },
  { label: 'DEL and C1 controls', name: () => 'a\x7f\x9bb' },
  { label: 'tab', name: () => 'a\tb' },
  { label: 'coding cookie', name: () => '# -*- coding: utf-7 -*-' },
  { label: 'very long', name: () => 'x'.repeat(20_000) },
  { label: 'keyword class', name: () => 'class' },
  { label: 'keyword None', name: () => 'None' },
  { label: 'keyword import', name: () => 'import' },
  { label: 'self', name: () => 'self' },
  { label: 'torch', name: () => 'torch' },
  { label: 'F', name: () => 'F' },
  { label: 'forward', name: () => 'forward' },
  { label: 'starts with a digit', name: () => '1x1' },
  { label: 'only digits', name: () => '0' },
  { label: 'underscore prefix', name: () => '_modules' },
  { label: 'dunder', name: () => '__class__' },
];

/** Names that differ but sanitise to one identifier: each must still get its own attribute. */
export const CLASHING_NAMES = ['a-b', 'a.b', 'a b', 'a/b', 'a_b', 'a\nb'];
