// Markdown and XML text from strings a model file or a user chose (model and layer names, paths): the report
// shows them as written, and none can start markup, close a fence or end a line.
import { UNSAFE_CHARS } from '../core/export/unsafeChars';
import type { Table } from './table';

/** Controls, format characters, separators but the space, and lone surrogates as visible `\u{…}` text. */
function visible(s: string, keepNewlines = false): string {
  return s.replace(UNSAFE_CHARS, (c) => (c === ' ' || (keepNewlines && c === '\n') ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

const longestTicks = (s: string): number => Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));

/** An inline code span holding `s` literally (CommonMark: a backtick run longer than any inside it). */
export function mdCode(s: string): string {
  const text = visible(s);
  const ticks = '`'.repeat(longestTicks(text) + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || text === '' ? ' ' : '';
  return `${ticks}${pad}${text}${pad}${ticks}`;
}

/** A fenced code block holding `text` (several lines) literally: its fence is longer than any backtick run inside. */
export function mdFence(text: string): string {
  const body = visible(text, true);
  const fence = '`'.repeat(Math.max(3, longestTicks(body) + 1));
  return `${fence}\n${body}\n${fence}`;
}

/** Markdown prose holding `s` as written: the characters that start emphasis, links, HTML or code are backslash-escaped. */
export function mdEscape(s: string): string {
  return visible(s).replace(/[\\`*_[\]<>&|~!#]/g, '\\$&');
}

/** A GitHub-flavoured Markdown table; each cell is escaped prose (a `|` in a name stays inside its cell). */
export function mdTable(t: Table): string {
  const row = (cells: string[]): string => `| ${cells.map((c) => mdEscape(c)).join(' | ')} |`;
  const align = t.header.map((_, i) => (t.right.has(i) ? '---:' : '---'));
  return [row(t.header), `| ${align.join(' | ')} |`, ...t.rows.map(row)].join('\n');
}

/** Text for XML character data and attribute values (SVG): markup characters as entities, the rest visible. */
export function xmlText(s: string): string {
  return visible(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
