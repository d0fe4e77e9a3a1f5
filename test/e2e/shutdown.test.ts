/**
 * Graceful shutdown under load: SIGTERM while ~200 Checks are in flight. Every Check the server
 * accepted must complete with its decision; only calls made after the listener closed may fail,
 * and only by not getting in. Health turns NOT_SERVING, the process exits 0, and the decision
 * log has exactly one line per completed Check.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { checkRequest, frontend, GatehouseClient, statusCode } from '../support/check-client.js';
import { cleanup, startGatehouse, waitFor } from '../support/server-process.js';

const concurrency = 200;
const loadBeforeSignalMs = 1000;
const maxLoadBeforeSignalMs = 10_000;
const loadAfterExitMs = 200;
/** A hard cap whatever the timings, so the loop is bounded by count as well as time. */
const maxCalls = 50_000;

interface Call {
  readonly requestId: string;
  readonly startedAt: number;
  /** Event-loop turn the call was started in (see `turns` below). */
  readonly startTurn: number;
  endedAt?: number;
  status?: number;
  error?: { code: number; details: string };
}

/**
 * Counts event-loop turns. grpc-js and Node's HTTP/2 put a new call's frames on the socket a
 * turn or so after it starts, so a call started in the turn of the signal, or the one before,
 * may still be unsent when the server stops accepting; every earlier call is on the wire.
 */
function turnCounter(): { readonly now: () => number; readonly stop: () => void } {
  let turn = 0;
  let running = true;
  const tick = (): void => {
    turn += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turn, stop: () => (running = false) };
}

afterAll(cleanup);

// One process, and a primary whose workers drain on their own while it collects their lines.
test.each([1, 2])('workers %i: SIGTERM under load: accepted Checks complete, health goes NOT_SERVING, exit 0, one log line per Check', async (workers) => {
  const server = await startGatehouse({ workers });
  const client = new GatehouseClient(server.grpcTarget);
  const watcher = new GatehouseClient(server.grpcTarget);
  const turns = turnCounter();
  try {
    const watch = watcher.watchHealth();
    await waitFor('the first health status', () => (watch.statuses.length > 0 ? true : undefined), 5000);
    expect(watch.statuses).toEqual(['SERVING']);

    // The first Checks pay for JIT and Cedar start-up; warm up so the measured load is steady.
    const warmUp = await Promise.all(Array.from({ length: concurrency }, () => client.check(checkRequest({ principal: frontend, path: '/api/orders/1' }))));
    expect(warmUp.every((response) => statusCode(response) === 0)).toBe(true);
    await server.waitForDecisions(warmUp.length);

    const calls: Call[] = [];
    let issuing = true;
    const worker = async (): Promise<void> => {
      while (issuing && calls.length < maxCalls) {
        const call: Call = { requestId: randomUUID(), startedAt: performance.now(), startTurn: turns.now() };
        calls.push(call);
        const outcome = await client.checkOutcome(checkRequest({ principal: frontend, path: '/api/orders/1', requestId: call.requestId }), 5000);
        call.endedAt = performance.now();
        if (outcome.ok) {
          call.status = statusCode(outcome.value);
        } else {
          call.error = { code: outcome.error.code, details: outcome.error.details };
          return; // a client that found the server gone stops asking it
        }
      }
    };
    const loaders = Array.from({ length: concurrency }, () => worker());

    // A while of steady load, and at least one full window completed, however slow the machine.
    const loadStarted = performance.now();
    await waitFor(
      'load to run',
      () => (performance.now() - loadStarted >= loadBeforeSignalMs && calls.filter((call) => call.endedAt !== undefined).length >= concurrency ? true : undefined),
      maxLoadBeforeSignalMs,
    );
    const inFlightAtSignal = calls.filter((call) => call.endedAt === undefined).length;
    const completedBeforeSignal = calls.filter((call) => call.endedAt !== undefined).length;
    const signalAt = performance.now();
    const signalTurn = turns.now();
    // Load goes on until the process is gone and every worker has met the closed port.
    expect(await server.stop('SIGTERM', 15000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, loadAfterExitMs));
    issuing = false;
    await Promise.all(loaders);

    const logged = new Set(server.decisions.slice(warmUp.length).map((line) => line.requestId));
    const before = calls.filter((call) => call.startedAt < signalAt);
    const after = calls.filter((call) => call.startedAt >= signalAt);
    const completed = calls.filter((call) => call.status !== undefined);
    const failed = calls.filter((call) => call.error !== undefined);
    // Refused: never got in (no decision line) and told so by the transport (UNAVAILABLE).
    const refused = failed.filter((call) => call.error?.code === 14 && !logged.has(call.requestId));
    const unsentAtSignal = before.filter((call) => call.startTurn >= signalTurn - 1);
    const summary = {
      calls: calls.length,
      inFlightAtSignal,
      completedBeforeSignal,
      startedBeforeSignal: before.length,
      startedAfterSignal: after.length,
      completed: completed.length,
      completedAfterSignal: after.filter((call) => call.status !== undefined).length,
      refusedAfterSignal: after.filter((call) => refused.includes(call)).length,
      refusedBeforeSignal: before.filter((call) => refused.includes(call)).length,
      failures: [...new Set(failed.map((call) => `${call.error!.code} ${call.error!.details}`))],
      decisionLines: server.decisions.length - warmUp.length,
    };

    // The load was real: a full window of Checks was in flight when the signal came, and calls
    // kept coming after the listener closed.
    expect(inFlightAtSignal).toBeGreaterThanOrEqual(concurrency / 2);
    expect(completedBeforeSignal).toBeGreaterThanOrEqual(concurrency);
    expect(summary.refusedAfterSignal).toBeGreaterThan(0);

    // Every call either completed with its decision, or was refused before the server took it:
    // no CANCELLED, no DEADLINE_EXCEEDED, no UNAVAILABLE for a call the server had accepted.
    expect({ summary, other: failed.filter((call) => !refused.includes(call)).map((call) => call.error) }).toEqual({ summary, other: [] });
    expect(completed.every((call) => call.status === 0)).toBe(true);

    // Calls started before SIGTERM were all on the wire and all completed, except possibly the
    // few started in the signal's own event-loop turn (see turnCounter).
    const beforeNotCompleted = before.filter((call) => call.status === undefined);
    expect({ summary, beforeNotCompleted: beforeNotCompleted.filter((call) => !unsentAtSignal.includes(call)) }).toEqual({ summary, beforeNotCompleted: [] });

    // One decision line per completed Check, and none for a call that never reached the server.
    expect(server.decisions.length - warmUp.length).toBe(completed.length);
    expect(logged.size).toBe(completed.length);
    for (const call of completed) expect(logged.has(call.requestId)).toBe(true);

    // Health told its watchers before the process went away, and the stream ended cleanly.
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(watch.ended).toEqual({ code: 0, details: 'OK' });

    const messages = server.opsLog().map((entry) => entry.message);
    expect(messages).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
    process.stdout.write(`shutdown under load, ${workers} worker(s): ${JSON.stringify(summary)}\n`);
  } finally {
    turns.stop();
    client.close();
    watcher.close();
  }
});
