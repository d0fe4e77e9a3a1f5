/**
 * The Check pipeline answers in the caller's own call when no step waits, and with a promise
 * only when identify or assert waits. Every way through it (waiting or not, a step that throws
 * or rejects, overload) gives the same outcome as the other, records it once and frees its
 * in-flight slot. Runs the real pipeline over real Cedar.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { noLifecycle } from '../../src/core/decide.js';
import type { CheckRequestMessage } from '../../src/core/decode.js';
import type { AuthnResult } from '../../src/core/identity.js';
import { CheckPipeline, whenChecked, type AssertionMinter, type CheckOutcome, type IdentityStep, type Wire } from '../../src/pipeline/check-pipeline.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { examplePolicyDir } from '../support/server-process.js';

const prepared = PolicyEngine.prepare({
  files: [{ name: 'p.cedar', text: '@id("anyone-reads")\npermit (principal, action == Action::"GET", resource);' }],
  schemaText: readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8'),
  schemaFile: 'schema.cedarschema',
});
if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems));
const authorizer = new CedarAuthorizer(prepared.engine);
const config = parseConfig({});

const anonymous: AuthnResult = { ok: true, identity: { kind: 'anonymous' } };

type Step = 'sync' | 'async' | 'throws' | 'rejects';

function identityStep(step: Step): IdentityStep {
  return {
    resolve: () => {
      if (step === 'throws') throw new Error('identify broke');
      if (step === 'rejects') return Promise.reject(new Error('identify broke'));
      return step === 'async' ? Promise.resolve(anonymous) : anonymous;
    },
  };
}

function minter(step: Step): AssertionMinter {
  return {
    mint: () => {
      if (step === 'throws') throw new Error('no key');
      if (step === 'rejects') return Promise.reject(new Error('no key'));
      return step === 'async' ? Promise.resolve('signed') : 'signed';
    },
  };
}

function pipelineWith(identify: Step, assert: Step | undefined, maxConcurrentChecks = 10, recordFails = false) {
  const recorded: CheckOutcome[] = [];
  const pipeline = new CheckPipeline({
    identity: identityStep(identify),
    policies: { current: () => authorizer },
    lifecycle: () => noLifecycle,
    mode: { dryRun: false, dryRunNamespaces: new Set() },
    request: config.request,
    response: config.response,
    limits: { ...config.limits, maxConcurrentChecks },
    ...(assert && { assertions: minter(assert) }),
    record: (outcome) => {
      recorded.push(outcome);
      if (recordFails) throw new Error('log broke');
    },
    clock: () => 1_760_000_000_000,
  });
  return { pipeline, recorded };
}

function message(method = 'GET'): CheckRequestMessage {
  return { attributes: { request: { http: { method, path: '/api/orders/1', host: 'orders.shop.svc.cluster.local', headers: { 'x-request-id': 'r-1' } } } } };
}

/** What must not depend on how the outcome was reached. */
function essence(outcome: CheckOutcome) {
  const { decision, response } = outcome;
  return {
    kind: decision.kind,
    code: decision.kind === 'allow' ? '' : decision.code,
    status: response.status.code,
    headers: (response.ok_response?.headers ?? response.denied_response?.headers ?? response.error_response?.headers ?? []).map((h) => h.header.key),
  };
}

const steps: Step[] = ['sync', 'async', 'throws', 'rejects'];
const cases = steps.flatMap((identify) => [undefined, ...steps].map((assert) => ({ identify, assert })));

describe('CheckPipeline.run', () => {
  test.each(cases)('identify $identify, assert $assert: a promise only when a step waited; recorded once; slot freed', async ({ identify, assert }) => {
    const { pipeline, recorded } = pipelineWith(identify, assert);
    const running = pipeline.run(message());
    // Assert runs only after an allow, which a broken identify step never gives.
    const identified = identify === 'sync' || identify === 'async';
    const waited = identify === 'async' || identify === 'rejects' || (identified && (assert === 'async' || assert === 'rejects'));
    expect(running instanceof Promise).toBe(waited);
    const outcome = await running;
    expect(pipeline.pending).toBe(0);
    expect(recorded).toEqual([outcome]);
    if (!identified) expect(essence(outcome)).toMatchObject({ kind: 'unavailable', code: 'internal' });
    else if (assert === 'throws' || assert === 'rejects') expect(essence(outcome)).toMatchObject({ kind: 'unavailable', code: 'internal' });
    else expect(outcome.decision.kind).toBe('allow');
    if (identified && (assert === 'sync' || assert === 'async')) {
      expect(outcome.response.ok_response?.headers.find((h) => h.header.key === 'x-gatehouse-assertion')?.header.value).toBe('signed');
    }
  });

  test('waiting or not, the same request gets the same answer', async () => {
    for (const method of ['GET', 'DELETE', 'BREW']) {
      const sync = await pipelineWith('sync', undefined).pipeline.run(message(method));
      const waited = await pipelineWith('async', undefined).pipeline.run(message(method));
      expect(essence(sync)).toEqual(essence(waited));
    }
  });

  test('a Check over the concurrency limit is refused as overloaded and frees its slot', async () => {
    const { pipeline } = pipelineWith('async', undefined, 1);
    const first = pipeline.run(message());
    const second = await pipeline.run(message());
    expect(essence(second)).toMatchObject({ kind: 'unavailable', code: 'overloaded' });
    expect(pipeline.pending).toBe(1);
    expect((await first).decision.kind).toBe('allow');
    expect(pipeline.pending).toBe(0);
  });

  test.each<[Wire, boolean]>([
    ['grpc', true],
    ['envoy-http', false],
    ['forward-auth', false],
  ])('%s: dynamic_metadata only where gRPC carries it', async (wire, withMetadata) => {
    const { pipeline } = pipelineWith('sync', undefined);
    for (const method of ['GET', 'DELETE']) {
      const outcome = await pipeline.run(message(method), { wire });
      expect(outcome.response.dynamic_metadata !== undefined).toBe(withMetadata);
      // An anonymous caller no policy permits is unauthenticated (16).
      expect(outcome.response.status.code).toBe(method === 'GET' ? 0 : 16);
    }
  });
});

describe('CheckPipeline.run when answering fails', () => {
  // The record step (or the response, or the trace) throwing must surface as the Check's error,
  // with its slot freed once and its decision recorded once: never settled a second time.
  test.each([
    { name: 'overloaded', identify: 'async' as Step, limit: 0 },
    { name: 'answered synchronously', identify: 'sync' as Step, limit: 10 },
    { name: 'answered after identify waited', identify: 'async' as Step, limit: 10 },
    { name: 'identify threw', identify: 'throws' as Step, limit: 10 },
    { name: 'identify rejected', identify: 'rejects' as Step, limit: 10 },
  ])('$name: the error surfaces, the slot is freed once, one record', async ({ identify, limit }) => {
    const { pipeline, recorded } = pipelineWith(identify, undefined, limit, true);
    let failed: unknown;
    await new Promise<void>((resolve) => {
      whenChecked(
        () => pipeline.run(message()),
        () => resolve(),
        (err) => {
          failed = err;
          resolve();
        },
      );
    });
    expect(String(failed)).toContain('log broke');
    expect(pipeline.pending).toBe(0);
    expect(recorded).toHaveLength(1);
  });
});

describe('whenChecked', () => {
  test('answers in the same call when the pipeline did', () => {
    const seen: string[] = [];
    whenChecked(
      () => 'now',
      (outcome) => seen.push(outcome),
      () => seen.push('failed'),
    );
    expect(seen).toEqual(['now']);
  });

  test('answers when a promise settles, and hands on what was thrown or rejected', async () => {
    const seen: unknown[] = [];
    const settled = new Promise<void>((resolve) => {
      whenChecked(
        () => Promise.resolve('later'),
        (outcome) => {
          seen.push(outcome);
          resolve();
        },
        () => undefined,
      );
    });
    expect(seen).toEqual([]);
    await settled;
    expect(seen).toEqual(['later']);
    const thrown = new Error('thrown');
    whenChecked(
      () => {
        throw thrown;
      },
      () => seen.push('answered'),
      (err) => seen.push(err),
    );
    expect(seen).toEqual(['later', thrown]);
    const rejected = new Error('rejected');
    await new Promise<void>((resolve) => {
      whenChecked(
        () => Promise.reject(rejected),
        () => seen.push('answered'),
        (err) => {
          seen.push(err);
          resolve();
        },
      );
    });
    expect(seen).toEqual(['later', thrown, rejected]);
  });
});
