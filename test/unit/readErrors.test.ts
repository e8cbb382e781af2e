import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { parseTree, type Node } from 'jsonc-parser';
import { ModelError } from '../../src/core/errors';
import { readModel } from '../../src/core/read/readModel';
import { fixturePath } from './fixturePath';

// readModel on bad input (read.test.ts has the good): located ModelErrors, and nothing else escapes.

const fixtureBytes = (file: string): Uint8Array => readFileSync(fixturePath(file));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('readModel: errors', () => {
  const expectError = (bytes: Uint8Array, test: (e: ModelError) => void, file = 'bad.json') => {
    assert.throws(
      () => readModel(file, bytes),
      (e: unknown) => {
        assert.ok(e instanceof ModelError, `expected a ModelError, got ${String(e)}`);
        test(e);
        return true;
      },
    );
  };
  const base = () => ({
    class_name: 'Model',
    config: {
      name: 'm',
      layers: [
        { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 2] }, inbound_nodes: [] },
        { class_name: 'Dense', name: 'a', config: { name: 'a', units: 2 }, inbound_nodes: [[['in', 0, 0, {}]]] },
        { class_name: 'Dense', name: 'b', config: { name: 'b', units: 2 }, inbound_nodes: [[['a', 0, 0, {}]]] },
      ],
      input_layers: [['in', 0, 0]],
      output_layers: [['b', 0, 0]],
    },
  });
  const pretty = (v: unknown) => enc(JSON.stringify(v, null, 2));

  it('truncated JSON: line:column of the parse error', () => {
    const text = JSON.stringify(base(), null, 2);
    expectError(enc(text.slice(0, 200)), (e) => {
      assert.match(e.message, /^bad\.json:\d+:\d+: malformed JSON/);
      assert.ok(e.where.line! > 1);
    });
  });

  it('malformed JSON inside a doubly encoded file names the inner document', () => {
    expectError(enc(JSON.stringify('{"class_name": "Model", "config": {')), (e) => {
      assert.match(e.message, /malformed JSON/);
      assert.equal(e.where.inner, 'the JSON string the file holds');
    });
  });

  it('an inbound reference to a missing layer names it and its path', () => {
    const m = base();
    m.config.layers[2]!.inbound_nodes = [[['ghost', 0, 0, {}]]];
    const text = new TextDecoder().decode(pretty(m));
    // The reference is the array that opens on the line before "ghost".
    const at = text.lastIndexOf('[', text.indexOf('"ghost"'));
    const line = text.slice(0, at).split('\n').length;
    const column = at - text.lastIndexOf('\n', at - 1);
    expectError(pretty(m), (e) => {
      assert.match(e.message, /"ghost"/);
      assert.ok(e.message.startsWith(`bad.json:${line}:${column} at $.config.layers[2].inbound_nodes[0][0]: `), e.message);
      assert.deepEqual(e.where.path, ['config', 'layers', 2, 'inbound_nodes', 0, 0]);
    });
  });

  it('a reference to a call node a layer does not have', () => {
    const m = base();
    m.config.layers[2]!.inbound_nodes = [[['a', 1, 0, {}]]];
    expectError(pretty(m), (e) => assert.match(e.message, /call node 1 of layer "a", which has 1 call node/));
  });

  it('a cycle names the layers', () => {
    const m = base();
    m.config.layers[1]!.inbound_nodes = [[['b', 0, 0, {}]]];
    expectError(pretty(m), (e) => {
      assert.match(e.message, /cycle/);
      assert.match(e.message, /a -> b -> a|b -> a -> b/);
    });
  });

  it('duplicate layer names, missing names, non-arrays, missing model parts', () => {
    const dup = base();
    dup.config.layers[2]!.name = 'a';
    dup.config.layers[2]!.config.name = 'a';
    expectError(pretty(dup), (e) => assert.match(e.message, /duplicate layer name "a"/));

    const notArray = base() as { config: Record<string, unknown> };
    notArray.config.layers = { a: 1 };
    expectError(pretty(notArray), (e) => assert.match(e.message, /at \$\.config\.layers: layers is an object; expected a JSON array/));

    const inboundNotArray = base() as unknown as { config: { layers: Record<string, unknown>[] } };
    inboundNotArray.config.layers[1]!.inbound_nodes = 'in';
    expectError(pretty(inboundNotArray), (e) => assert.match(e.message, /inbound_nodes of a is a string/));

    const badRef = base() as unknown as { config: { layers: Record<string, unknown>[] } };
    badRef.config.layers[1]!.inbound_nodes = [[['in', 'zero', 0]]];
    expectError(pretty(badRef), (e) => assert.match(e.message, /malformed tensor reference/));

    const noOutputs = base() as { config: Record<string, unknown> };
    delete noOutputs.config.output_layers;
    expectError(pretty(noOutputs), (e) => assert.match(e.message, /without output_layers/));

    const noName = base() as unknown as { config: { layers: Record<string, unknown>[] } };
    delete noName.config.layers[1]!.name;
    noName.config.layers[1]!.config = { units: 2 };
    expectError(pretty(noName), (e) => assert.match(e.message, /Dense layer has no name/));
  });

  it('not a model', () => {
    expectError(enc('{"name": "x", "layers": []}'), (e) => {
      assert.match(e.message, /not a model/);
      assert.equal(e.where.line, 1);
    });
    expectError(enc('[1, 2]'), (e) => assert.match(e.message, /not a model: the file holds an array/));
    expectError(enc('{"modelTopology": {"class_name": "Conv2D", "config": {"name": "c"}}}'), (e) => assert.match(e.message, /class Conv2D is not a model/));
    expectError(enc(''), (e) => assert.match(e.message, /malformed JSON|empty/));
    expectError(new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0]), (e) => assert.match(e.message, /HDF5/));
    expectError(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), (e) => assert.match(e.message, /not UTF-8/));
  });

  it('input nested too deeply for the parser', () => {
    expectError(enc('['.repeat(200000)), (e) => assert.match(e.message, /malformed JSON|nested too deeply/));
  });

  it('a TF.js graph model inside modelTopology (no format key)', () => {
    expectError(enc('{"modelTopology": {"node": [{"name": "input", "op": "Placeholder"}]}}'), (e) => {
      assert.match(e.message, /graph model/);
      assert.deepEqual(e.where.path, ['modelTopology']);
    });
  });

  it('a zip without config.json, and a damaged zip', () => {
    expectError(zipSync({ 'model.weights.h5': new Uint8Array([1, 2, 3]) }), (e) => assert.match(e.message, /without config\.json \(it holds "model\.weights\.h5"\)/), 'm.keras');
    const zip = zipSync({ 'config.json': fixtureBytes('keras3-resnet1d-dotkeras-config.json') });
    expectError(zip.slice(0, 100), (e) => assert.match(e.message, /zip/), 'm.keras');
  });

  it('an error inside a .keras config.json says so', () => {
    const zip = zipSync({ 'config.json': enc('{"class_name": "Functional", "config": {"layers": [}') });
    expectError(zip, (e) => {
      assert.equal(e.where.inner, 'config.json');
      assert.match(e.message, /m\.keras:1:\d+ \(in config\.json\)/);
    }, 'm.keras');
  });
});

describe('readModel: odd input never escapes as anything but a ModelError', () => {
  /** Deterministic PRNG so a failure can be replayed. */
  const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const REPLACEMENTS = ['null', '0', '-1', '1.5', '"x"', '[]', '{}', '[["x", 0, 0]]', '[0]', '{"class_name": "Model"}', 'true'];

  /** Every value node (not property keys). */
  function everyNode(root: Node): Node[] {
    const out: Node[] = [];
    const walk = (n: Node) => {
      if (n.type === 'property') {
        if (n.children?.[1]) walk(n.children[1]);
        return;
      }
      out.push(n);
      n.children?.forEach(walk);
    };
    walk(root);
    return out;
  }

  for (const file of ['keras3-resnet1d-dotkeras-config.json', 'tfjs-browser-saved-lenet-tensorspace.json', 'keras1-resnet50-kerasjs.json', 'tfjs-official-e2e-sequential-embedding-gru.json']) {
    it(`${file}: truncations and replaced values`, () => {
      const text = new TextDecoder().decode(fixtureBytes(file));
      const nodes = everyNode(parseTree(text)!);
      const next = rng(file.length);
      const tries: string[] = [];
      for (let i = 0; i < 40; i++) tries.push(text.slice(0, Math.floor(next() * text.length)));
      for (let i = 0; i < 400; i++) {
        const n = nodes[Math.floor(next() * nodes.length)]!;
        const r = REPLACEMENTS[Math.floor(next() * REPLACEMENTS.length)]!;
        tries.push(text.slice(0, n.offset) + r + text.slice(n.offset + n.length));
      }
      let errors = 0;
      for (const t of tries) {
        try {
          readModel(file, enc(t));
          if (process.env.READ_FUZZ_VERBOSE) console.log('ok');
        } catch (e) {
          if (process.env.READ_FUZZ_VERBOSE) console.log(e instanceof ModelError ? e.what : e);
          assert.ok(e instanceof ModelError, `not a ModelError: ${String(e)}`);
          assert.doesNotMatch(e.message, /internal reader error/);
          assert.ok(e.where.line !== undefined || e.where.path === undefined, 'errors with a path carry a line');
          errors++;
        }
      }
      assert.ok(errors > 40);
    });
  }
});
