/**
 * Bugs the fuzzers found, each pinned by a test named after it (the fuzzers' oracle and
 * invariants find them again at random; these find them every time).
 */
import { parseConfig } from '../../src/config.js';
import type { DecisionRecord } from '../../src/log/decision-record.js';
import { decisionLine } from '../../src/log/decision-line.js';
import { examplePolicyDir } from '../support/server-process.js';
import { lineProblem } from './invariants.js';
import { workloads } from './oracle.js';
import { DecisionPipeline } from './pipeline.js';
import { encodeShape } from './requests.js';
import { fuzzIdentityYaml, makeTokenKit, NOW } from './tokens.js';

describe('bug: a workload authenticated by a token skipped the identity.classes rules (class "unknown"), so a class-based forbid did not stop it', () => {
  // fuzzIdentityYaml makes every service account named build-* a build job; the example policy
  // no-build-jobs-in-shop forbids build jobs in namespace shop, whatever a permit says.
  let pipeline: DecisionPipeline;
  let buildToken: string;

  beforeAll(async () => {
    const kit = await makeTokenKit();
    pipeline = await DecisionPipeline.create(parseConfig({ policies: examplePolicyDir, identity: fuzzIdentityYaml }), kit.keySources);
    buildToken = [...kit.valid].find(([, expected]) => expected.kind === 'workload' && expected.id === workloads.monitoringBuild)![0];
  });

  test.each([
    ['mTLS', { principal: workloads.monitoringBuild }],
    ['a token', { token: 'BUILD' }],
    ['mTLS and its own token', { principal: workloads.monitoringBuild, token: 'BUILD' }],
  ])('a build job asking a shop service through %s is denied by no-build-jobs-in-shop', async (_how, credential) => {
    const token = 'token' in credential ? buildToken : undefined;
    const outcome = await pipeline.run(encodeShape({ ...credential, token, path: '/metrics' }), NOW);
    if (outcome.kind !== 'decided') throw new Error(outcome.error);
    expect(outcome.decision).toMatchObject({ kind: 'deny', code: 'policy_denied', policies: ['no-build-jobs-in-shop'] });
    expect(outcome.authn).toMatchObject({ ok: true, identity: { kind: 'workload', class: 'build' } });
  });

  test('the same token outside namespace shop is still allowed (monitoring-scrapes-metrics)', async () => {
    const outcome = await pipeline.run(encodeShape({ token: buildToken, path: '/metrics', service: 'exporter.tools' }), NOW);
    if (outcome.kind !== 'decided') throw new Error(outcome.error);
    expect(outcome.decision).toMatchObject({ kind: 'allow', policies: ['monitoring-scrapes-metrics'] });
  });
});

test('bug: DEL, C1 controls (NEL, CSI) and U+2028/U+2029 reached decision log lines raw', () => {
  const hostile = 'a\x7fb\x85c\x9bd\u2028e\u2029f\r\n\0\x1b[31m"\\\x7f';
  const record: DecisionRecord = {
    time: '2027-01-15T08:00:00.000Z',
    decisionId: 'd',
    requestId: hostile,
    principal: `User::${JSON.stringify(hostile)}`,
    authn: 'jwt',
    action: hostile,
    resource: hostile,
    path: '/',
    decision: 'deny',
    policies: [],
    errors: [{ policy: hostile, message: hostile }],
    mode: 'enforce',
    durationMs: 1,
    reason: 'bad_request',
    detail: hostile,
    policyVersion: 'v',
    wire: 'grpc',
  };
  const line = decisionLine(record);
  expect(lineProblem(line)).toBeUndefined();
  // Escaping changed the spelling, not the values.
  expect(JSON.parse(line)).toEqual(record);
});
