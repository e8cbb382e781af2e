// Numeric CSV: RFC 4180 quoting (doubled quotes, separators and newlines inside quotes), CRLF or LF,
// ',' ';' or tab (whichever the first row uses most), an optional header (a first row with any
// non-numeric cell), one label column by name or index (default: the last).
import { DatasetError } from './errors';
import { checkLimit, limitNote, readBytes } from './raw';
import type { RawData } from './raw';

export interface CsvRow {
  cells: string[];
  /** 1-based line the row starts on. */
  line: number;
}

function pickSeparator(text: string): string {
  const end = text.search(/\r?\n/);
  const first = (end < 0 ? text : text.slice(0, end)).replace(/"[^"]*"/g, '');
  const count = (c: string): number => first.split(c).length - 1;
  return [',', ';', '\t'].reduce((best, c) => (count(c) > count(best) ? c : best), ',');
}

export function parseCsvRows(text: string, file: string, separator = pickSeparator(text)): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let rowLine = 1;
  let quoted = false; // inside quotes
  let wasQuoted = false; // the current cell had quotes: text after the closing quote is an error
  const endCell = (): void => {
    cells.push(cell);
    cell = '';
    wasQuoted = false;
  };
  const endRow = (): void => {
    endCell();
    if (!(cells.length === 1 && cells[0].trim() === '')) rows.push({ cells, line: rowLine });
    cells = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"') {
      if (cell.trim() !== '' || wasQuoted) throw new DatasetError(`CSV ${file}:${line}: a quote inside an unquoted cell`);
      cell = '';
      quoted = true;
      wasQuoted = true;
    } else if (c === separator) endCell();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      if (wasQuoted && c.trim() !== '') throw new DatasetError(`CSV ${file}:${line}: text after a closing quote`);
      cell += c;
    }
  }
  if (quoted) throw new DatasetError(`CSV ${file}:${rowLine}: a quoted cell is not closed before the end of the file`);
  endRow();
  return rows;
}

const numeric = (s: string): boolean => s.trim() !== '' && !Number.isNaN(Number(s.trim()));

/** Reads a numeric CSV; x is (samples, columns - 1), y one value per sample. */
export function readCsv(path: string, label?: string | number, limit?: number): RawData {
  const max = checkLimit(limit);
  let text = new TextDecoder('utf-8').decode(readBytes(path, 'CSV'));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows = parseCsvRows(text, path);
  if (rows.length === 0) throw new DatasetError(`CSV ${path}: no rows`);
  const header = rows[0].cells.some((c) => c.trim() !== '' && !numeric(c)) ? rows[0].cells.map((c) => c.trim()) : undefined;
  const data = header ? rows.slice(1) : rows;
  if (data.length === 0) throw new DatasetError(`CSV ${path}: a header and no data rows`);
  const width = (header ?? data[0].cells).length;
  if (width < 2) throw new DatasetError(`CSV ${path}: ${width} column; a dataset needs at least one feature and a label`);
  let col: number;
  if (label === undefined) col = width - 1;
  else if (typeof label === 'number') {
    col = label < 0 ? width + label : label;
    if (!Number.isInteger(label) || col < 0 || col >= width) throw new DatasetError(`CSV ${path}: label column ${label} is outside the ${width} columns (0..${width - 1}, or negative from the end)`);
  } else {
    if (!header) throw new DatasetError(`CSV ${path}: label column '${label}' given by name, but the file has no header row`);
    col = header.indexOf(label.trim());
    if (col < 0) throw new DatasetError(`CSV ${path}: no column named '${label}' (columns: ${header.join(', ')})`);
  }
  const kept = Math.min(data.length, max);
  const x = new Float32Array(kept * (width - 1));
  const y = new Float32Array(kept);
  for (let r = 0; r < kept; r++) {
    const { cells, line } = data[r];
    if (cells.length !== width) throw new DatasetError(`CSV ${path}:${line}: ${cells.length} cells, expected ${width} like ${header ? 'the header' : 'the first row'}`);
    let k = r * (width - 1);
    for (let c = 0; c < width; c++) {
      if (!numeric(cells[c])) {
        const name = header ? ` ('${header[c]}')` : '';
        const what = cells[c].trim() === '' ? 'an empty cell' : `a non-numeric cell '${cells[c].trim().slice(0, 40)}'`;
        throw new DatasetError(`CSV ${path}:${line}: column ${c + 1}${name} has ${what}; only numbers are supported`);
      }
      const v = Number(cells[c].trim());
      if (c === col) y[r] = v;
      else x[k++] = v;
    }
  }
  const notes = [`label column ${col}${header ? ` ('${header[col]}')` : ''}${header ? ', header row skipped' : ''}`, ...limitNote(kept, data.length)];
  const labelAt = (i: number): string => `${path}:${data[i]!.line}, label column ${col}${header ? ` ('${header[col]}')` : ''}`;
  return { name: `csv ${path}`, samples: kept, x, xShape: [width - 1], y, yShape: [], notes, labelAt };
}
