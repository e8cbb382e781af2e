import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { getNodePath, getNodeValue, parseTree, type Node } from 'jsonc-parser';
import { fastTree, jsonValue } from '../../src/core/read/fastTree';
import { ValueNode, ValueText, valueTree } from '../../src/core/read/valueTree';
import { synthModelText } from '../../bench/synthModels';
import { fixturePath } from './fixturePath';

/** Every field of every node, children expanded, parents checked by identity. */
function assertSameTree(a: Node, b: Node, where = '$'): void {
  assert.equal(a.type, b.type, `${where}: type`);
  assert.equal(a.offset, b.offset, `${where}: offset`);
  assert.equal(a.length, b.length, `${where}: length`);
  assert.equal(a.colonOffset, b.colonOffset, `${where}: colonOffset`);
  assert.ok(Object.is(a.value, b.value) || (a.value === undefined && b.value === undefined), `${where}: value ${String(a.value)} vs ${String(b.value)}`);
  assert.equal(a.children === undefined, b.children === undefined, `${where}: children`);
  const ak = a.children ?? [];
  const bk = b.children ?? [];
  assert.equal(ak.length, bk.length, `${where}: child count`);
  ak.forEach((c, i) => {
    assert.equal(c.parent, a, `${where}[${i}]: parent`);
    assertSameTree(c, bk[i]!, `${where}[${i}]`);
  });
}

const TRICKY = [
  '{}',
  '[]',
  ' \n\t{ "a" : [ 1 , -2.5e+3 , true , false , null , "x" ] , "b" : { } , "c" : [ ] }\r\n',
  '{"q\\"uote\\\\":"\\\\","e":"\\u00e9\\n\\"","s":"a\\\\\\"b","u":"\u2028"}',
  '"a string"',
  '-0',
  '[[[[{"deep":[[]]}]]]]',
  '{"dup":1,"dup":2}',
  '{"__proto__":{"polluted":true},"k":1E400}',
];

describe('fastTree: the jsonc-parser tree, built on demand', () => {
  const dir = dirname(fixturePath('SOURCES.md'));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    it(`${file}: node for node as parseTree`, () => {
      let text = readFileSync(`${dir}/${file}`, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const tree = fastTree(text)!;
      assertSameTree(tree, parseTree(text)!);
      const root = parseTree(text)!;
      if (root.type === 'string') assertSameTree(fastTree(root.value as string)!, parseTree(root.value as string)!);
    });
  }

  it('tricky texts: escapes, spacing, literals, nesting, duplicate keys', () => {
    for (const text of TRICKY) {
      assertSameTree(fastTree(text)!, parseTree(text)!, text);
      assert.deepEqual(jsonValue(fastTree(text)!), getNodeValue(parseTree(text)!), text);
    }
  });

  it('paths and values agree with jsonc-parser on a synthetic model', () => {
    const text = synthModelText({ layers: 300, block: 'conv' });
    const tree = fastTree(text)!;
    const layers = tree.children![1]!.children![1]!.children![1]!.children![1]!;
    assert.deepEqual(getNodePath(layers.children![7]!), ['config', 'layers', 7]);
    assert.deepEqual(jsonValue(layers.children![7]!), getNodeValue(parseTree(text)!.children![1]!.children![1]!.children![1]!.children![1]!.children![7]!));
  });

  it('returns undefined for what JSON.parse refuses (the caller reports it with parseTree)', () => {
    for (const text of ['', '{', '{"a":1,}', '// c\n{}', '[1 2]', '{"a" 1}', 'nul', '\ufeff{}']) assert.equal(fastTree(text), undefined, text);
  });
});

/**
 * valueTree against parseTree where the file has no duplicate keys: node for node, offsets included
 * (they are looked up in the text tree on demand). With duplicate keys the value is JSON.parse's.
 */
function assertSameValueTree(a: Node, b: Node, where = '$'): void {
  assert.equal(a.type, b.type, `${where}: type`);
  assert.ok(Object.is(a.value, b.value) || (a.value === undefined && b.value === undefined), `${where}: value ${String(a.value)} vs ${String(b.value)}`);
  assert.equal(a.offset, b.offset, `${where}: offset`);
  assert.equal(a.length, b.length, `${where}: length`);
  if (a.type === 'property') assert.equal(a.colonOffset, b.colonOffset, `${where}: colonOffset`);
  const ak = a.children ?? [];
  const bk = b.children ?? [];
  assert.equal(ak.length, bk.length, `${where}: child count`);
  ak.forEach((c, i) => {
    assert.equal(c.parent, a, `${where}[${i}]: parent`);
    if (c.type !== 'property') assert.deepEqual((c as unknown as ValueNode).path(), getNodePath(bk[i]!), `${where}[${i}]: path`);
    assertSameValueTree(c, bk[i]!, `${where}[${i}]`);
  });
}

describe('valueTree: the readers\' tree over JSON.parse\'s value', () => {
  const dir = dirname(fixturePath('SOURCES.md'));
  it('every fixture: node for node as parseTree, offsets found on demand', () => {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      let text = readFileSync(`${dir}/${file}`, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      assertSameValueTree(valueTree(new ValueText(text), JSON.parse(text)) as unknown as Node, parseTree(text)!, file);
    }
  });

  it('tricky texts without duplicate keys', () => {
    for (const text of TRICKY.filter((t) => !t.includes('dup'))) assertSameValueTree(valueTree(new ValueText(text), JSON.parse(text)) as unknown as Node, parseTree(text)!, text);
  });

  it('keys in file order, array-index keys included; of duplicates the last value in the first place', () => {
    const text = '{"b": 1, "10": 2, "a": {"x": 0}, "2": 3, "a": {"y": [4]}}';
    const root = valueTree(new ValueText(text), JSON.parse(text)) as unknown as Node;
    assert.deepEqual(root.children!.map((p) => p.children![0]!.value), ['b', '10', 'a', '2']);
    const a = root.children![2]!;
    assert.equal((root as unknown as ValueNode).prop('a')!.parent!.parent, root);
    assert.equal(JSON.stringify((a.children![1] as unknown as ValueNode).v), '{"y":[4]}');
    // The property and its value are located at the duplicate that holds the value.
    assert.equal(a.offset, text.lastIndexOf('"a"'));
    assert.equal(a.children![1]!.children![0]!.children![1]!.offset, text.indexOf('[4]'));
    assert.deepEqual((a.children![1]!.children![0]!.children![1]!.children![0]! as unknown as ValueNode).path(), ['a', 'y', 0]);
  });
});
