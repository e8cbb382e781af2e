import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DocumentTexts } from '../../src/extension/documentText';
import { synthModelText } from '../../bench/synthModels';
import { fixturePath } from './fixturePath';

/**
 * A document as VS Code's extension host keeps it: lines without their breaks, one end-of-line string; a
 * range ending past the last line is clamped to the document's end (ExtHostDocumentData).
 */
class LinesDoc {
  version = 1;
  isClosed = false;
  lines: string[];
  reads = 0;
  readonly uri = { toString: () => 'file:///m.json' };
  constructor(
    text: string,
    readonly eol = '\n',
  ) {
    this.lines = text.split(eol);
  }
  get lineCount(): number {
    return this.lines.length;
  }
  getText(): string {
    this.reads++;
    return this.lines.join(this.eol);
  }
  slice(start: number, end: number): string {
    this.reads++;
    const last = end >= this.lines.length;
    return this.lines.slice(start, Math.min(end, this.lines.length)).join(this.eol) + (last ? '' : this.eol);
  }
  edit(line: number, text: string): void {
    this.lines[line] = text;
    this.version++;
  }
}

const texts = (size: number) => new DocumentTexts<LinesDoc>((doc, start, end) => doc.slice(start, end), size);

describe('DocumentTexts: a large document read in slices, once per version', () => {
  const resnet = JSON.stringify(JSON.parse(readFileSync(fixturePath('tfjs-legacy-resnet50-tensorspace.json'), 'utf8')), null, 2);

  it('joins the slices into exactly the text, at every slice size, with a byte-order mark and CRLF', async () => {
    for (const text of [resnet, `\ufeff${resnet}`, resnet.replace(/\n/g, '\r\n'), `${resnet}\n`, synthModelText({ layers: 300, block: 'conv' })]) {
      const eol = text.includes('\r\n') ? '\r\n' : '\n';
      for (const size of [1, 7, 1000, 5995, 1e6]) {
        const doc = new LinesDoc(text, eol);
        assert.equal(await texts(size).get(doc), text, `slices of ${size} lines`);
      }
    }
  });

  it('reads a version once; an edit is read again', async () => {
    const doc = new LinesDoc(resnet);
    const t = texts(500);
    const a = await t.get(doc);
    const reads = doc.reads;
    assert.equal(await t.get(doc), a);
    assert.equal(doc.reads, reads, 'the same version is not read again');
    doc.edit(10, '  "edited": true,');
    const b = await t.get(doc);
    assert.equal(b, doc.lines.join('\n'));
    assert.notEqual(b, a);
  });

  it('an edit between two slices gives the text of the new version, not a mix of both', async () => {
    const doc = new LinesDoc(resnet);
    const t = texts(500);
    const pending = t.get(doc);
    // The first slice was read synchronously; the edit lands in a line of a later slice.
    doc.edit(doc.lineCount - 3, '  "late edit": 1,');
    assert.equal(await pending, doc.lines.join('\n'));
  });
});
