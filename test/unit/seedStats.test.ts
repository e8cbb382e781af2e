import assert from 'node:assert/strict';
import type { ComparisonRecord, ComparisonRow } from '../../src/protocol/runRecords';
import { pairedT, std, tCdf, tQuantile, verdict } from '../../src/trainer/seedStats';
import { seedSummary } from '../../src/trainer/seedSummary';

// Reference values from SciPy 1.10.1 (Debian python3-scipy) on this machine:
//   from scipy import stats; stats.t.ppf(0.975, df), stats.t.cdf(1.3, df)
//   stats.ttest_rel(a, b) and mean(d) ± t.ppf(0.975, n-1)·std(d, ddof=1)/√n for the pairs below
const PPF_975: [number, number][] = [
  [1, 12.706204736432095],
  [2, 4.302652729911275],
  [4, 2.7764451051977987],
  [9, 2.2621571627409915],
  [29, 2.045229642132703],
];
const CDF_1_3: [number, number][] = [
  [1, 0.7912855998398474],
  [2, 0.8383764840919797],
  [4, 0.868274201764388],
  [9, 0.8870468136634754],
  [29, 0.898080408168985],
];

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('seed statistics (paired t)', function () {
  it("Student's t quantiles and CDF match SciPy", function () {
    for (const [df, q] of PPF_975) close(tQuantile(0.975, df), q, 1e-9 * q, `t.ppf(0.975, ${df})`);
    for (const [df, p] of CDF_1_3) close(tCdf(1.3, df), p, 1e-12, `t.cdf(1.3, ${df})`);
    close(tCdf(-1.3, 4), 1 - 0.868274201764388, 1e-12, 't.cdf(-1.3, 4)');
  });

  it('paired t-test: statistic, p-value and 95% CI match SciPy (3 and 5 seeds)', function () {
    const three = pairedT([0.8123, 0.805, 0.8191], [0.8012, 0.8075, 0.8101]);
    close(three.t!, 1.387893500106855, 1e-9, 't (3 pairs)');
    close(three.p!, 0.29956593828262235, 1e-9, 'p (3 pairs)');
    close(three.ci95![0], -0.012320773037366426, 1e-9, 'CI low (3 pairs)');
    close(three.ci95![1], 0.0240541063706998, 1e-9, 'CI high (3 pairs)');
    const five = pairedT([0.71, 0.74, 0.69, 0.73, 0.75], [0.7, 0.71, 0.7, 0.69, 0.72]);
    close(five.t!, 2.23606797749979, 1e-9, 't (5 pairs)');
    close(five.p!, 0.08900934250008564, 1e-9, 'p (5 pairs)');
    close(five.ci95![0], -0.004833279964075333, 1e-9, 'CI low (5 pairs)');
    close(five.ci95![1], 0.044833279964075365, 1e-9, 'CI high (5 pairs)');
    close(std([0.71, 0.74, 0.69, 0.73, 0.75]), 0.024083189157584613, 1e-12, 'std (ddof 1)');
  });

  it('one seed gives no interval; unequal lengths are refused', function () {
    const one = pairedT([0.8], [0.7]);
    assert.equal(one.ci95, null);
    assert.match(verdict('RW', 'plain', 'val accuracy', one), /^RW vs plain: \+10\.00 pts val accuracy over 1 seed; no confidence interval/);
    assert.throws(() => pairedT([1, 2], [1]), /2 values against 1/);
  });

  it('the verdict says significant only when the interval excludes 0', function () {
    assert.equal(
      verdict('RW+LR r=4', 'plain', 'val accuracy', pairedT([0.8123, 0.805, 0.8191], [0.8012, 0.8075, 0.8101])),
      'RW+LR r=4 vs plain: +0.59 pts val accuracy, 95% CI [−1.23, +2.41], p = 0.300, not significant over 3 seeds (paired t)',
    );
    assert.match(verdict('X', 'plain', 'val accuracy', pairedT([0.9, 0.91, 0.92], [0.8, 0.8, 0.81])), /, better over 3 seeds/);
    assert.match(verdict('X', 'plain', 'val accuracy', pairedT([0.7, 0.71, 0.7], [0.8, 0.8, 0.81])), /, worse over 3 seeds/);
  });

  it('summarises comparisons per seed: mean ± std per plan, paired Δ with its CI', function () {
    const row = (name: string, valAcc: number): ComparisonRow =>
      ({ name, plan: name, status: 'completed', params: 1000, added: 0, addedPercent: 0, final: { loss: 1, acc: 0.5, valLoss: 1, valAcc }, best: { loss: 1, acc: 0.5, valLoss: 1, valAcc } }) as unknown as ComparisonRow;
    const rec = (seed: number, plain: number, rw: number): ComparisonRecord => ({ seed, rows: [row('plain', plain), row('rw', rw)] }) as unknown as ComparisonRecord;
    const s = seedSummary([rec(1, 0.8012, 0.8123), rec(2, 0.8075, 0.805), rec(3, 0.8101, 0.8191)]);
    const lines = s.table.split('\n');
    assert.match(lines[0]!, /plan\s+params\s+MACs\/ex\s+val accuracy mean ± std\s+seed 1\s+seed 2\s+seed 3\s+Δ vs plain \(95% CI\)/);
    assert.match(s.table, /plain .*0\.8063 ± 0\.0046\s+0\.8012\s+0\.8075\s+0\.8101\s+-/);
    assert.match(s.table, /rw .*\+0\.0059 \[−0\.0123, \+0\.0241\]/);
    assert.deepEqual(s.verdicts, ['rw vs plain: +0.59 pts val accuracy, 95% CI [−1.23, +2.41], p = 0.300, not significant over 3 seeds (paired t)']);
  });
});
