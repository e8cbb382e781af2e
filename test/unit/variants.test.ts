import assert from 'node:assert/strict';
import { parsePlan, PlanError, resolvePlan, choiceSpec, splitPlans } from '../../src/core/laurel/planSpec';
import { DEFAULT_OPTIONS, instanceCost } from '../../src/core/laurel/variants';
import type { Variant, VariantOptions } from '../../src/core/laurel/variants';

const cost = (variant: Variant, D: number, o: Partial<VariantOptions> = {}): number =>
  instanceCost({ variant, options: { ...DEFAULT_OPTIONS, ...o } }, D).params;

describe('LAuReL instance cost (laurel-method §4)', () => {
  it('LR on one site is 2rD', () => {
    for (const [r, D] of [[16, 256], [32, 768], [4, 1000], [64, 2048]] as const) assert.equal(cost('lr', D, { rank: r }), 2 * r * D);
  });
  it('the Gemma 3n block is 264,192 per layer at D=2048, r=64, and 9,246,720 for E4B', () => {
    assert.equal(cost('gemma', 2048, { rank: 64 }), 264_192);
    assert.equal(35 * cost('gemma', 2048, { rank: 64 }), 9_246_720);
    assert.equal(30 * cost('gemma', 2048, { rank: 64 }), 7_925_760);
  });
  it('RW is 2, 1 or 0 parameters by normalisation', () => {
    assert.equal(cost('rw', 512), 2);
    assert.equal(cost('rw', 512, { rwNorm: 'sigmoid-single' }), 1);
    assert.equal(cost('rw', 512, { rwNorm: 'fixed' }), 0);
  });
  it('Table 5: 24 LR instances at D=768, r=32 add 1,179,648 (157.20M -> 158.38M)', () => {
    assert.equal(24 * cost('lr', 768, { rank: 32 }), 1_179_648);
  });
  it('§4.2: Eq. 6 RW+LR+PA with k=3, r=32, D=768 adds 147,461 per instance', () => {
    assert.equal(cost('rw+lr+pa', 768, { rank: 32, k: 3 }), 147_461);
  });
  it('PA: k with identity h, 2rD + k shared, 2rkD + k per look-back', () => {
    assert.equal(cost('pa', 768, { k: 3 }), 3);
    assert.equal(cost('pa', 768, { k: 3, rank: 32, paMode: 'lowrank-shared' }), 2 * 32 * 768 + 3);
    assert.equal(cost('pa', 768, { k: 3, rank: 32, paMode: 'lowrank-per-j' }), 2 * 32 * 3 * 768 + 3);
  });
  it('LLM-1B illustration: RW+LR r=4 over N=20 instances at D=1000 is 160,040', () => {
    assert.equal(20 * cost('rw+lr', 1000, { rank: 4 }), 160_040);
  });
  it('per-position work: LR costs 2rD multiply-adds, PA holds kD activations', () => {
    const o = { ...DEFAULT_OPTIONS, rank: 16, k: 3 };
    assert.equal(instanceCost({ variant: 'lr', options: o }, 256).macsPerPosition, 2 * 16 * 256);
    assert.equal(instanceCost({ variant: 'pa', options: o }, 256).activationsPerPosition, 3 * 256);
    assert.deepEqual(instanceCost({ variant: 'plain', options: o }, 256), { params: 0, macsPerPosition: 0, activationsPerPosition: 0 });
  });
});

describe('plan specs', () => {
  const sites = ['add_1', 'add_2', 'block/add_3'].map((id) => ({ id, merge: id.split('/').pop()!, current: { variant: 'plain' as Variant, options: DEFAULT_OPTIONS } }));

  it('parses targets, variants and options', () => {
    const p = parsePlan('all=rw+lr:r=16, add_2=pa:k=2:pa=lowrank-shared:r=8');
    assert.equal(p.entries.length, 2);
    assert.deepEqual(p.entries[0], { target: 'all', choice: { variant: 'rw+lr', options: { ...DEFAULT_OPTIONS, rank: 16 } } });
    assert.deepEqual(p.entries[1]!.choice.options, { ...DEFAULT_OPTIONS, k: 2, rank: 8, paMode: 'lowrank-shared' });
  });
  it('a bare variant means all sites, later entries win, globs and merge names match', () => {
    const m = resolvePlan(parsePlan('rw,add_*=lr:r=4,add_3=plain'), sites);
    assert.equal(m.get('add_1')!.variant, 'lr');
    assert.equal(m.get('add_2')!.options.rank, 4);
    assert.equal(m.get('block/add_3')!.variant, 'plain');
  });
  it('names what is wrong', () => {
    assert.throws(() => parsePlan(''), PlanError);
    assert.throws(() => parsePlan('all=lora'), /unknown variant 'lora'; expected one of plain, rw/);
    assert.throws(() => parsePlan('lr:r=0'), /r must be a positive integer, got '0'/);
    assert.throws(() => parsePlan('lr:q=3'), /unknown option 'q'/);
    assert.throws(() => parsePlan('rw:norm=tanh'), /norm must be one of softmax, sigmoid-single, fixed/);
    assert.throws(() => resolvePlan(parsePlan('add_9=rw'), sites), /no residual site matches 'add_9'; the sites are add_1, add_2, block\/add_3/);
  });
  it("a comparison's plans: ';' separates them; bare variants joined by ',' read as a list, said in a note", () => {
    assert.deepEqual(splitPlans('plain; rw;rw+lr:r=16'), { plans: ['plain', 'rw', 'rw+lr:r=16'] });
    const listed = splitPlans('plain,rw+lr:r=4, pa:k=2');
    assert.deepEqual(listed.plans, ['plain', 'rw+lr:r=4', 'pa:k=2']);
    assert.match(listed.note!, /read as 3 plans/);
    // Site choices stay one plan, as does anything that does not parse (the plan check names it later).
    assert.deepEqual(splitPlans('rw,add_*=lr:r=4'), { plans: ['rw,add_*=lr:r=4'] });
    assert.deepEqual(splitPlans('all=rw,lr'), { plans: ['all=rw,lr'] });
    assert.deepEqual(splitPlans('plain,lora'), { plans: ['plain,lora'] });
    assert.deepEqual(splitPlans(' '), { plans: [] });
  });
  it('choiceSpec writes a spec that parses back to the same choice', () => {
    const choice = { variant: 'rw+lr+pa' as Variant, options: { ...DEFAULT_OPTIONS, rank: 8, k: 2, rwNorm: 'fixed' as const } };
    assert.deepEqual(parsePlan(choiceSpec(choice)).entries[0]!.choice, choice);
  });
});
