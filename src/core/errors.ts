import type { JsonPath } from './ir';

/** Where in a file a problem is. Line and column are 1-based. */
export interface SourceLocation {
  file: string;
  path?: JsonPath;
  offset?: number;
  line?: number;
  column?: number;
  /** Set when the location is inside an inner document (a JSON string, a zip member). */
  inner?: string;
}

/**
 * A model file could not be read, or a model is not consistent. The message always says where
 * (file, line:column when known, JSON path) and what was expected.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly what: string,
    readonly where: SourceLocation,
    readonly expected?: string,
  ) {
    super(formatMessage(what, where, expected));
  }
}

export function formatPath(path: JsonPath | undefined): string {
  if (!path || path.length === 0) return '$';
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_]\w*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');
}

function formatMessage(what: string, where: SourceLocation, expected?: string): string {
  const pos = where.line !== undefined ? `:${where.line}:${where.column ?? 1}` : '';
  const inner = where.inner ? ` (in ${where.inner})` : '';
  const path = where.path ? ` at ${formatPath(where.path)}` : '';
  return `${where.file}${pos}${inner}${path}: ${what}${expected ? `; expected ${expected}` : ''}`;
}

/** 1-based line and column of an offset in a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
}
