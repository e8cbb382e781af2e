import assert from 'node:assert/strict';
import { NameIndex } from '../../src/core/read/nameIndex';
import { readModel } from '../../src/core/read/readModel';
import { ModelError } from '../../src/core/errors';
import { synthModel } from '../../bench/synthModels';

describe('NameIndex (the reader\'s layer names to indices)', () => {
  it('finds every name it was given and no other, as a Map does, at sizes around its growth steps', () => {
    for (const n of [0, 1, 7, 8, 9, 1000, 20000]) {
      const names = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `b${i}_conv` : i % 3 === 1 ? `${'x'.repeat(i % 50)}${i}` : String(i)));
      const index = new NameIndex(n);
      const oracle = new Map<string, number>();
      names.forEach((s, i) => {
        assert.equal(index.add(s, i), -1, `${s} added`);
        oracle.set(s, i);
      });
      assert.equal(index.size, n);
      for (const [s, i] of oracle) assert.equal(index.get(s), i, `${n}: ${s}`);
      for (const s of ['', 'b0_conv ', 'B0_conv', `${n}`, 'missing', '__proto__', 'constructor']) assert.equal(index.get(s), oracle.get(s), `${n}: '${s}'`);
    }
  });

  it('keeps the first index of a repeated name and says which it is', () => {
    const index = new NameIndex(4);
    assert.equal(index.add('dense', 0), -1);
    assert.equal(index.add('', 1), -1);
    assert.equal(index.add('dense', 2), 0);
    assert.equal(index.add('', 3), 1);
    assert.equal(index.size, 2);
    assert.equal(index.get('dense'), 0);
    assert.equal(index.get(''), 1);
  });

  it('tells apart names whose characters are the same in another order, or only in case', () => {
    const names = ['ab', 'ba', 'AB', 'aB', 'a\u0000b', 'ab\u0000', '\u00e9', 'e\u0301', '\ud83d\ude00'];
    const index = new NameIndex(names.length);
    names.forEach((s, i) => assert.equal(index.add(s, i), -1, JSON.stringify(s)));
    names.forEach((s, i) => assert.equal(index.get(s), i, JSON.stringify(s)));
  });

  it('lets the reader refuse a repeated layer name in a large model with the first layer that has it', () => {
    const model = synthModel({ layers: 5000, block: 'dense' }) as { config: { layers: { name: string; config: { name: string } }[] } };
    const layers = model.config.layers;
    layers[4000]!.name = layers[4000]!.config.name = layers[1234]!.name;
    assert.throws(
      () => readModel('dup.json', new TextEncoder().encode(JSON.stringify(model))),
      (e: unknown) => e instanceof ModelError && e.message.includes(`duplicate layer name "${layers[1234]!.name}" (also layer 1234)`),
    );
  });
});
