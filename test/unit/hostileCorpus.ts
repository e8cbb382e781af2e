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

/**
 * A config value written into the first layer of a class, as raw JSON text (1e400 must stay text: it parses
 * to Infinity). 'problem': a located problem names the layer and the key; 'ok': the file reads cleanly.
 */
export interface HostileConfig {
  cls: RegExp;
  key: string;
  json: string;
  expect: 'problem' | 'ok';
}

const configs = (cls: RegExp, key: string, bad: string[], good: string[]): HostileConfig[] => [
  ...bad.map((json): HostileConfig => ({ cls, key, json, expect: 'problem' })),
  ...good.map((json): HostileConfig => ({ cls, key, json, expect: 'ok' })),
];

export const HOSTILE_CONFIGS: HostileConfig[] = [
  ...configs(/^Dropout$/, 'rate', ['-1', '3.5', '"16"', 'null', '1e400', '-1e400', '1', '[0.5]', 'true'], ['0', '0.5', '0.999']),
  // No 'ok' filters: another count would no longer match the residual it feeds.
  ...configs(/^Conv[12]D$/, 'filters', ['1e20', '2.5', '"16"', '0', '-3', 'null', '1e400', '2147483648'], []),
  ...configs(/^Conv[12]D$/, 'kernel_size', ['1e20', '[3, "3"]', '[]', '0', '"3"'], []),
  ...configs(/^Dense$/, 'units', ['1e20', '7.5', '"10"', 'null', '0', '{}'], ['1', '10']),
  ...configs(/^BatchNormalization$/, 'momentum', ['"0.99"', '1.5', '-0.1', '1e400'], ['null', '0', '1', '0.9']),
  ...configs(/^BatchNormalization$/, 'epsilon', ['0', '-1', '"1e-3"', '1e400'], ['1e-5', 'null']),
  ...configs(/^ReLU$/, 'max_value', ['-1', '"6"', '1e400'], ['null', '6']),
  ...configs(/^ReLU$/, 'negative_slope', ['-0.1', '"0"'], ['0', '0.1']),
];

/** Plan specs and what a model with a few residuals (D of 16 to 64) must answer; `says` is part of the message. */
export interface HostilePlan {
  spec: string;
  expect: 'refused' | 'warning' | 'ok';
  says: string;
}

export const HOSTILE_PLANS: HostilePlan[] = [
  { spec: 'all=lr:r=1e9', expect: 'refused', says: "r must be a positive integer, got '1e9' (decimal digits" },
  { spec: 'all=lr:r=1000000000', expect: 'refused', says: 'no engine allocates more than' },
  { spec: 'all=lr:r=99999999999', expect: 'refused', says: 'at most 2147483647)' },
  { spec: 'all=lr:r=0', expect: 'refused', says: 'positive integer' },
  { spec: 'all=lr:r=-1', expect: 'refused', says: 'positive integer' },
  { spec: 'all=lr:r=2.5', expect: 'refused', says: 'positive integer' },
  { spec: 'all=lr:r=16.0', expect: 'refused', says: 'positive integer' },
  { spec: 'all=lr:r=0x10', expect: 'refused', says: 'positive integer' },
  { spec: 'all=lr:r=', expect: 'refused', says: 'positive integer' },
  { spec: 'all=lr:r= 8', expect: 'ok', says: '' },
  { spec: 'all=pa:k=99999', expect: 'refused', says: 'residual site(s)' },
  { spec: 'all=rw+lr+pa:k=0', expect: 'refused', says: 'positive integer' },
  { spec: 'all=gemma:r=100000000', expect: 'refused', says: 'no engine allocates' },
  { spec: 'all=pa:pa=lowrank-shared:r=100000000', expect: 'refused', says: 'no engine allocates' },
  { spec: 'all=pa:r=100000000', expect: 'ok', says: '' },
  { spec: 'all=pa', expect: 'ok', says: '' },
  { spec: 'all=lr:r=4096', expect: 'warning', says: 'is not below D' },
  { spec: 'all=lr:r=16,all=plain', expect: 'warning', says: "'all=lr:r=16' has no effect: 'all=plain' sets every site it names" },
  { spec: 'all=rw,all=rw', expect: 'warning', says: "'all=rw' has no effect" },
  { spec: 'all=pa:k=3,all=lr:r=99999999', expect: 'refused', says: 'no engine allocates' },
  { spec: 'all=lr:r=99999999,all=rw', expect: 'refused', says: 'no engine allocates' },
  { spec: 'nowhere=rw', expect: 'refused', says: "no residual site matches 'nowhere'" },
  { spec: 'all=rw', expect: 'ok', says: '' },
  { spec: 'all=rw+lr:r=2,all=pa:k=1', expect: 'warning', says: 'has no effect' },
  { spec: 'all=rw+lr:r=2', expect: 'ok', says: '' },
  { spec: 'all=pa:k=1', expect: 'ok', says: '' },
];
