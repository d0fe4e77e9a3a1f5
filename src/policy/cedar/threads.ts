import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { PolicyToJsonAnswer, ValidationAnswer, ValidationCall } from '@cedar-policy/cedar-wasm/nodejs';
import { errorMessage } from '../../errors.js';

/** Where this process loads cedar-wasm from, so every thread runs the very same build. */
const cedarModule = createRequire(import.meta.url).resolve('@cedar-policy/cedar-wasm/nodejs');

// Given as source rather than a file: tests run this module from TypeScript, which a worker cannot
// load. A thread inherits the process's flags, so its source may be run as a CommonJS script or as
// an ES module: it reaches Node's modules through process.getBuiltinModule, which both have.
// Every thread is given all the runs and takes the next one left from a counter they share, so
// that no run waits for the caller's event loop (busy answering Checks) to hand it out.
const threadSource = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const cedar = process.getBuiltinModule('node:module').createRequire(workerData)(workerData);
parentPort.on('message', ({ fn, runs, taken }) => {
  const next = new Int32Array(taken);
  for (let index = Atomics.add(next, 0, 1); index < runs.length; index = Atomics.add(next, 0, 1)) {
    try {
      parentPort.postMessage({ index, answers: runs[index].map((args) => cedar[fn](...args)) });
    } catch (err) {
      parentPort.postMessage({ error: String(err && err.message ? err.message : err) });
      return;
    }
  }
  parentPort.postMessage({ done: true });
});
`;

type Reply = { index: number; answers: unknown[] } | { error: string } | { done: true };

/**
 * Threads, each with its own cedar-wasm, for the stateless calls of a load (parsing each policy
 * to JSON, validating against the schema). Cedar's parser costs about 0.1 ms a policy and a load
 * parses each policy more than once; spread over threads, a large set loads in a fraction of the
 * time and the event loop keeps answering Checks meanwhile. Preparsed sets are per instance, so
 * preparsing stays with the caller's cedar-wasm. Opened for one load and closed after it: an idle
 * instance would hold its memory for nothing between reloads.
 *
 * The work is cut into several runs per thread, and each thread takes the next run when it is
 * done with its last: a thread that starts late, or shares its core with other processes, then
 * holds up the load by one short run, not by half of it. The threads take the runs themselves,
 * so none waits for the caller's event loop, which may be busy answering Checks.
 */
export class CedarThreads {
  readonly #threads: Worker[];

  /**
   * `deadlineMs`: how long one thread may take over one run of a call before it counts as failed
   * (and is stopped), so that a thread that never answers cannot hold every later reload.
   * `runsPerThread`: how many runs the work is cut into for each thread.
   */
  constructor(
    size: number,
    private readonly deadlineMs = 120_000,
    private readonly runsPerThread = 8,
  ) {
    this.#threads = Array.from({ length: Math.max(1, size) }, () => new Worker(threadSource, { eval: true, workerData: cedarModule }));
  }

  get size(): number {
    return this.#threads.length;
  }

  /** `policyToJson` of each text, in order. */
  async toJson(texts: readonly string[]): Promise<PolicyToJsonAnswer[]> {
    const run = Math.max(1, Math.ceil(texts.length / (this.size * this.runsPerThread)));
    const runs = Array.from({ length: Math.ceil(texts.length / run) }, (_, index) => texts.slice(index * run, (index + 1) * run).map((text) => [text]));
    return (await this.#shared('policyToJson', runs)).flat() as PolicyToJsonAnswer[];
  }

  /** `validate` of each call, in order; each call is one run. */
  async validate(calls: readonly ValidationCall[]): Promise<ValidationAnswer[]> {
    return (await this.#shared('validate', calls.map((call) => [[call]]))).flat() as ValidationAnswer[];
  }

  /** How many runs of about equal work keep every thread busy to the end (see the class). */
  get runs(): number {
    return this.size * this.runsPerThread;
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((thread) => thread.terminate()));
  }

  /** Each run's answers, in the runs' order. The first failure fails the whole, and no thread starts another run. */
  async #shared(fn: 'policyToJson' | 'validate', runs: readonly unknown[][][]): Promise<unknown[][]> {
    const answers: unknown[][] = new Array<unknown[]>(runs.length);
    const taken = new SharedArrayBuffer(4);
    try {
      await Promise.all(this.#threads.map((thread) => drain(thread, { fn, runs, taken }, answers, this.deadlineMs)));
    } catch (err) {
      Atomics.store(new Int32Array(taken), 0, runs.length);
      throw err;
    }
    return answers;
  }
}

/** Gives `thread` the runs and files its answers until it finds none left. */
function drain(thread: Worker, work: { fn: string; runs: readonly unknown[][][]; taken: SharedArrayBuffer }, answers: unknown[][], deadlineMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let deadline: NodeJS.Timeout;
    const wait = (): void => {
      deadline = setTimeout(() => {
        settle();
        void thread.terminate();
        reject(new Error(`cedar thread gave no answer within ${deadlineMs} ms`));
      }, deadlineMs);
    };
    const settle = (): void => {
      clearTimeout(deadline);
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
    };
    const onMessage = (reply: Reply): void => {
      if ('index' in reply) {
        answers[reply.index] = reply.answers;
        clearTimeout(deadline);
        wait();
        return;
      }
      settle();
      if ('error' in reply) reject(new Error(`cedar thread: ${reply.error}`));
      else resolve();
    };
    const onError = (err: Error): void => {
      settle();
      reject(new Error(`cedar thread: ${errorMessage(err)}`));
    };
    const onExit = (code: number): void => {
      settle();
      reject(new Error(`cedar thread exited with ${code}`));
    };
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
    wait();
    thread.postMessage(work);
  });
}
