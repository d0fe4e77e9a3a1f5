/**
 * `gatehouse_decisions_total` counted on the Check path in plain numbers and handed to prom-client
 * when read: every scrape must show every decision counted before it, exactly once.
 */
import { Metrics } from '../../src/transport/metrics.js';

function totals(text: string): Record<string, number> {
  return Object.fromEntries([...text.matchAll(/^gatehouse_decisions_total\{([^}]*)\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

test('each scrape shows every decision counted before it, once', async () => {
  const metrics = new Metrics();
  for (let i = 0; i < 5; i++) metrics.decisions.count('allow', '', 'grpc');
  metrics.decisions.count('deny', 'policy_denied', 'forward-auth');
  metrics.decisions.count('error', 'decision_timeout', 'envoy-http');
  expect(totals(await metrics.registry.metrics())).toEqual({
    'outcome="allow",reason="",wire="grpc"': 5,
    'outcome="deny",reason="policy_denied",wire="forward-auth"': 1,
    'outcome="error",reason="decision_timeout",wire="envoy-http"': 1,
  });
  // Read again with nothing new: the same totals, not twice them.
  expect(totals(await metrics.registry.metrics())).toMatchObject({ 'outcome="allow",reason="",wire="grpc"': 5 });
  for (let i = 0; i < 3; i++) metrics.decisions.count('allow', '', 'grpc');
  metrics.decisions.count('dry_run_deny', 'policy_denied', 'grpc');
  const after = totals(await metrics.registry.metrics());
  expect(after['outcome="allow",reason="",wire="grpc"']).toBe(8);
  expect(after['outcome="dry_run_deny",reason="policy_denied",wire="grpc"']).toBe(1);
  // The JSON form a primary aggregates its workers' metrics from counts them too.
  metrics.decisions.count('allow', '', 'grpc');
  const json = await metrics.registry.getMetricsAsJSON();
  const values = json.find((m) => m.name === 'gatehouse_decisions_total')?.values ?? [];
  expect(values.find((v) => v.labels.outcome === 'allow' && v.labels.wire === 'grpc')?.value).toBe(9);
});
