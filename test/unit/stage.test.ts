import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openModel } from '../../src/core/model';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import { stageOf } from '../../src/protocol/graphStage';
import { fixturePath } from './fixturePath';

describe('graph menu: whole stage', () => {
  const file = 'tfjs-legacy-resnet50-tensorspace.json';
  const g = graphSnapshot(openModel(file, readFileSync(fixturePath(file))));

  it('ResNet-50: the residuals of each stage (3, 4, 6, 3 blocks)', () => {
    assert.deepEqual(stageOf(g, 'add_2').map((s) => s.id), ['add_1', 'add_2', 'add_3']);
    assert.deepEqual(stageOf(g, 'add_4').map((s) => s.id), ['add_4', 'add_5', 'add_6', 'add_7']);
    assert.equal(stageOf(g, 'add_10').length, 6);
    assert.deepEqual(stageOf(g, 'add_16').map((s) => s.id), ['add_14', 'add_15', 'add_16']);
    assert.deepEqual(stageOf(g, 'nope'), []);
  });
});
