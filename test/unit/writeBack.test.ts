import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import { fixturePath } from './fixturePath';

const root = resolve(__dirname, '../../..');

describe('write-back', () => {
  it('a .keras archive: config.json edited, every other member byte-identical, revert restores config.json', () => {
    const config = readFileSync(fixturePath('keras3-resnet1d-dotkeras-config.json'));
    const weights = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    const metadata = strToU8('{"keras_version": "3.6.0", "date_saved": "2024-11-02@10:00:00"}');
    const archive = zipSync({ 'metadata.json': [metadata, { level: 6 }], 'config.json': [config, { level: 6 }], 'model.weights.h5': [weights, { level: 0 }] });
    const m = openModel('model.keras', archive);
    assert.equal(m.doc.format, 'keras3-archive');
    assert.equal(m.sites.length, 3);

    const edited = plannedBytes(m, planModel(m, 'all=rw+lr:r=4'));
    const files = unzipSync(edited);
    assert.deepEqual(Object.keys(files).sort(), ['config.json', 'metadata.json', 'model.weights.h5']);
    assert.ok(Buffer.from(files['model.weights.h5']!).equals(Buffer.from(weights)));
    assert.ok(Buffer.from(files['metadata.json']!).equals(Buffer.from(metadata)));
    assert.equal((Buffer.from(files['config.json']!).toString().match(/"LaurelResidual"/g) ?? []).length, 3);

    const again = openModel('model.keras', edited);
    assert.ok(again.sites.every((s) => s.current.variant === 'rw+lr'));
    const reverted = unzipSync(plannedBytes(again, planModel(again, 'plain')));
    assert.ok(Buffer.from(reverted['config.json']!).equals(config));
  });

  it('PA appends the earlier activations of the same shape to the merge inputs, and switching variants removes them', () => {
    const bytes = readFileSync(join(root, 'examples', 'resnet-mini.json'));
    const m = openModel('resnet-mini.json', bytes);
    const pa = openModel('resnet-mini.json', plannedBytes(m, planModel(m, 'all=pa:k=3')));
    const inputs = (id: string): string[] => {
      const n = pa.doc.graph.nodes.find((x) => x.id === id)!;
      return n.inputs.map((t) => t.node);
    };
    // block1 has no earlier site; block2 looks back at block1's input; block3 changes shape (no history);
    // block4 looks back at block3's input only (block1/2 are 28x28x16).
    assert.deepEqual(inputs('block1_add'), ['block1_bn2', 'stem_relu']);
    assert.deepEqual(inputs('block2_add'), ['block2_bn2', 'block1_out', 'stem_relu']);
    assert.deepEqual(inputs('block3_add'), ['block3_bn2', 'block3_proj_bn']);
    assert.deepEqual(inputs('block4_add'), ['block4_bn2', 'block3_out', 'block3_proj_bn']);
    // γ per existing term: blocks 1 and 3 start their stage (x alone), blocks 2 and 4 have one earlier activation.
    assert.equal(pa.params.total, m.params.total + 1 + 2 + 1 + 2);

    const rw = openModel('resnet-mini.json', plannedBytes(pa, planModel(pa, 'all=rw')));
    assert.equal(rw.doc.graph.nodes.find((x) => x.id === 'block2_add')!.inputs.length, 2);
    assert.ok(Buffer.from(plannedBytes(rw, planModel(rw, 'plain'))).equals(bytes));
  });

  it('edits are minimal: only the class name, one config property and the inputs of changed sites', () => {
    const bytes = readFileSync(join(root, 'examples', 'resnet-mini.json'));
    const m = openModel('resnet-mini.json', bytes);
    const { edits } = planModel(m, 'block3_add=lr:r=4');
    assert.equal(edits.length, 2);
    const after = Buffer.from(plannedBytes(m, planModel(m, 'block3_add=lr:r=4'))).toString();
    const before = new Set(bytes.toString().split('\n'));
    const changed = after.split('\n').filter((l) => !before.has(l));
    // The class name line, the last config line (gains a comma) and the new `laurel` line.
    assert.equal(after.split('\n').length, bytes.toString().split('\n').length + 1);
    assert.ok(changed.length <= 3, changed.join('\n'));
  });
});
