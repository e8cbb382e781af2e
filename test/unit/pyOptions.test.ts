import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readPyOptions, splitOptionParts } from '../../src/core/pysource/pyOptions';
import { dataRelativeTo, pyFileOptions, PyOptionsError } from '../../src/trainer/pySourceOptions';
import traceSpec from '../../src/python/laurel_trace_spec.py';
import { SYSTEM_PYTHON } from './systemDeps';

// The `# laurel:` options comment of a .py model: read statically (no Python), problems located, and split the
// same way by the tracer's Python (which reads model and input from it when no flag gives them).

const values = (text: string): Record<string, string> => Object.fromEntries(Object.entries(readPyOptions(text).values).map(([k, v]) => [k, v!.value]));

describe('PyTorch sources: the # laurel: options comment', () => {
  it('key=value parts split by spaces before the next key or by ;, never inside brackets or strings', () => {
    const gpt = '# laurel: model=GPT(GPTConfig(n_layer=2, n_head=2)) input=torch.randint(0, 256, (1, 32)) loss=model data=text:my corpus.txt';
    assert.deepEqual(values(gpt), { model: 'GPT(GPTConfig(n_layer=2, n_head=2))', input: 'torch.randint(0, 256, (1, 32))', loss: 'model', data: 'text:my corpus.txt' });
    assert.deepEqual(values('import torch\n  #laurel: model = Net(name="a b=c"); input = torch.randn(1, 3) if True else None\n'), { model: 'Net(name="a b=c")', input: 'torch.randn(1, 3) if True else None' });
    // Several comment lines add up; `==` is no key.
    assert.deepEqual(values('# laurel: model=Net(flag=1 == 1)\nx = 1\n# laurel: loss=mse\n'), { model: 'Net(flag=1 == 1)', loss: 'mse' });
    assert.equal(readPyOptions('# laurel replaces: "x + y"\n# not laurel: model=1\n').line, null);
  });

  it('several models, a line each: the first trains, with its own input or the input-only line\'s', () => {
    assert.deepEqual(values('# laurel: input=torch.randn(1, 3)\n# laurel: model=A() loss=mse\n# laurel: model=B() input=torch.randn(2, 3)\n'), { loss: 'mse', model: 'A()', input: 'torch.randn(1, 3)' });
    assert.deepEqual(values('# laurel: model=A() input=torch.randn(2, 3)\n# laurel: model=B()\n# laurel: input=torch.randn(1, 3)\n'), { model: 'A()', input: 'torch.randn(2, 3)' });
    assert.deepEqual(readPyOptions('# laurel: model=A()\n# laurel: model=B()\n').problems, []);
  });

  it('unknown keys, repeats, parts without = and unknown losses are problems at line:column', () => {
    const o = readPyOptions('import torch\n# laurel: model=Net() lr=3e-3 loss=hinge\n#   laurel: model=Other() input=x input=y\n# laurel: data=\n# laurel: batch\n# laurel: loss=mse\n# laurel: loss=model\n');
    assert.deepEqual(o.problems, [
      { line: 2, column: 23, message: "unknown option 'lr' in the # laurel: comment (keys: model, input, loss, data, adapt)" },
      { line: 2, column: 31, message: 'loss=hinge is not a loss here: cross_entropy, mse, model' },
      { line: 3, column: 35, message: "'input' is given twice (first at line 3:27); another model goes on a line of its own" },
      { line: 4, column: 11, message: "'data=' has no value" },
      { line: 5, column: 11, message: "'batch' is not an option: write key=value (keys: model, input, loss, data, adapt)" },
      { line: 7, column: 11, message: "'loss' is given twice (first at line 6:11)" },
    ]);
    assert.deepEqual(values('# laurel: model=Net() lr=3e-3'), { model: 'Net()' });
    // The columns point at the key in the line as written.
    const line = '# laurel: model=Net() lr=3e-3 loss=hinge';
    assert.equal(line.slice(22, 24), 'lr');
    assert.equal(line.slice(30, 34), 'loss');
    assert.throws(() => pyFileOptions('/m/net.py', line), (e: unknown) => e instanceof PyOptionsError && e.message === "/m/net.py:1:23: unknown option 'lr' in the # laurel: comment (keys: model, input, loss, data, adapt)\n/m/net.py:1:31: loss=hinge is not a loss here: cross_entropy, mse, model");
  });

  it("the data spec's paths are the file's folder's, options and other forms kept", () => {
    assert.equal(dataRelativeTo('text:corpus.txt:limit=64', '/m'), 'text:/m/corpus.txt:limit=64');
    assert.equal(dataRelativeTo('npy:x.npy,/d/y.npy', '/m'), 'npy:/m/x.npy,/d/y.npy');
    assert.equal(dataRelativeTo('idx:a/img, a/lab:limit=5', '/m'), 'idx:/m/a/img,/m/a/lab:limit=5');
    assert.equal(dataRelativeTo('csv:../t.csv:label=y', '/m/n'), 'csv:/m/t.csv:label=y');
    assert.equal(dataRelativeTo('fashion-mnist:test:limit=100', '/m'), 'fashion-mnist:test:limit=100');
    assert.deepEqual(pyFileOptions('/m/net.py', '# laurel: data=text:c.txt loss=cross_entropy'), { data: 'text:/m/c.txt', loss: 'cross_entropy' });
  });

  it("the tracer's Python splits a comment into the same parts", function () {
    const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'print(1)'], { encoding: 'utf8' });
    if (probe.status !== 0) this.skip();
    const bodies = [
      'model=GPT(GPTConfig(n_layer=2, n_head=2)) input=torch.randint(0, 256, (1, 32)) loss=model data=text:my corpus.txt',
      'model = Net(name="a b=c"); input = torch.randn(1, 3) if True else None',
      "model=Net(s='it\\'s ; x=1')  ;; input=[torch.zeros(2)] x==y",
      'model=Net() lr=3e-3 loss=hinge',
    ];
    // The tracer's comment reader (laurel_trace_spec.py) imports no torch: exec'ing it defines split_options.
    const code = `import json, sys\nns = {"__name__": "laurel_trace_spec"}\nexec(compile(sys.argv[1], "laurel_trace_spec.py", "exec"), ns)\nprint(json.dumps([ns["split_options"](b) for b in json.loads(sys.argv[2])]))`;
    const r = spawnSync(SYSTEM_PYTHON, ['-c', code, traceSpec, JSON.stringify(bodies)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), bodies.map((b) => splitOptionParts(b).map((p) => p.text)));
  });
});
