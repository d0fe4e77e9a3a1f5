/**
 * CheckDurations must read exactly as the prom-client Histogram it replaced: the same text on a
 * scrape, the same JSON, and the same sums when a primary aggregates its workers' registries.
 */
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { CheckDurations } from '../../src/transport/check-durations.js';

const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

function both(values: readonly number[]) {
  const ours = new Registry();
  const theirs = new Registry();
  const durations = new CheckDurations({ name: 'x_check_seconds', help: 'How long.', buckets, registers: [ours] });
  const histogram = new Histogram({ name: 'x_check_seconds', help: 'How long.', buckets, registers: [theirs] });
  for (const value of values) {
    durations.observe(value);
    histogram.observe(value);
  }
  return { ours, theirs, durations, histogram };
}

// Bounds themselves (le is inclusive), between them, below and above all, zero and negatives.
const values = [...buckets, ...buckets.map((b) => b * 1.5), ...buckets.map((b) => b * 0.999), 0, -1, 5, 1e9, 3e-5, 0.0001];

test('a scrape reads the same text and JSON as prom-client would have', async () => {
  const { ours, theirs } = both(values);
  expect(await ours.metrics()).toBe(await theirs.metrics());
  expect(JSON.stringify(await ours.getMetricsAsJSON())).toBe(JSON.stringify(await theirs.getMetricsAsJSON()));
});

test('workers aggregated by a primary sum alike', async () => {
  const a = both(values.slice(0, 10));
  const b = both(values.slice(10));
  const ours = await AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]).metrics();
  const theirs = await AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()]).metrics();
  expect(ours).toBe(theirs);
});

test('a duration that is not a number is not counted', async () => {
  const { ours, durations } = both([0.001]);
  durations.observe(Number.NaN);
  durations.observe(Number.POSITIVE_INFINITY);
  expect(await ours.metrics()).toMatch(/^x_check_seconds_count 1$/m);
});

test('before any observation, after a reset, and after observing again: as prom-client', async () => {
  const fresh = both([]);
  expect(await fresh.ours.metrics()).toBe(await fresh.theirs.metrics());
  const { ours, theirs, durations, histogram } = both(values);
  ours.resetMetrics();
  theirs.resetMetrics();
  expect(await ours.metrics()).toBe(await theirs.metrics());
  expect(JSON.stringify(await ours.getMetricsAsJSON())).toBe(JSON.stringify(await theirs.getMetricsAsJSON()));
  durations.observe(0.003);
  histogram.observe(0.003);
  expect(await ours.metrics()).toBe(await theirs.metrics());
});

test('buckets must increase', () => {
  expect(() => new CheckDurations({ name: 'y_seconds', help: 'y', buckets: [0.1, 0.1], registers: [] })).toThrow(RangeError);
});
