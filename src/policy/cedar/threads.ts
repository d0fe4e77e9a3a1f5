import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { PolicyToJsonAnswer, ValidationAnswer, ValidationCall } from '@cedar-policy/cedar-wasm/nodejs';
import { errorMessage } from '../../errors.js';

/** Where this process loads cedar-wasm from, so every thread runs the very same build. */
const cedarModule = createRequire(import.meta.url).resolve('@cedar-policy/cedar-wasm/nodejs');

// Given as source rather than a file: tests run this module from TypeScript, which a worker cannot
// load. A thread inherits the process's flags, so its source may be run as a CommonJS script or as
// an ES module: it reaches Node's modules through process.getBuiltinModule, which both have.
const threadSource = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const cedar = process.getBuiltinModule('node:module').createRequire(workerData)(workerData);
parentPort.on('message', ({ fn, calls }) => {
  try {
    parentPort.postMessage({ answers: calls.map((args) => cedar[fn](...args)) });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message ? err.message : err) });
  }
});
`;

type Reply = { answers: unknown[] } | { error: string };

/**
 * Threads, each with its own cedar-wasm, for the stateless calls of a load (parsing each policy
 * to JSON, validating against the schema). Cedar's parser costs about 0.1 ms a policy and a load
 * parses each policy more than once; spread over threads, a large set loads in a fraction of the
 * time and the event loop keeps answering Checks meanwhile. Preparsed sets are per instance, so
 * preparsing stays with the caller's cedar-wasm. Opened for one load and closed after it: an idle
 * instance would hold its memory for nothing between reloads.
 */
export class CedarThreads {
  readonly #threads: Worker[];

  /**
   * `deadlineMs`: how long one thread may take over its share of a call before it counts as failed
   * (and is stopped), so that a thread that never answers cannot hold every later reload.
   */
  constructor(
    size: number,
    private readonly deadlineMs = 120_000,
  ) {
    this.#threads = Array.from({ length: Math.max(1, size) }, () => new Worker(threadSource, { eval: true, workerData: cedarModule }));
  }

  get size(): number {
    return this.#threads.length;
  }

  /** `policyToJson` of each text, in order, the texts shared out in contiguous runs. */
  async toJson(texts: readonly string[]): Promise<PolicyToJsonAnswer[]> {
    const run = Math.ceil(texts.length / this.size);
    const parts = this.#threads.map((_, index) => texts.slice(index * run, (index + 1) * run).map((text) => [text]));
    return (await this.#each('policyToJson', parts)).flat() as PolicyToJsonAnswer[];
  }

  /** `validate` of each call, one call to each thread; no more calls than threads. */
  async validate(calls: readonly ValidationCall[]): Promise<ValidationAnswer[]> {
    if (calls.length > this.size) throw new Error(`${calls.length} validation calls for ${this.size} threads`);
    return (await this.#each('validate', calls.map((call) => [[call]]))).flat() as ValidationAnswer[];
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((thread) => thread.terminate()));
  }

  #each(fn: 'policyToJson' | 'validate', parts: readonly unknown[][][]): Promise<unknown[][]> {
    return Promise.all(parts.map((calls, index) => (calls.length === 0 ? Promise.resolve([]) : ask(this.#threads[index]!, fn, calls, this.deadlineMs))));
  }
}

function ask(thread: Worker, fn: string, calls: readonly unknown[][], deadlineMs: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      settle();
      void thread.terminate();
      reject(new Error(`cedar thread gave no answer within ${deadlineMs} ms`));
    }, deadlineMs);
    const settle = (): void => {
      clearTimeout(deadline);
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
    };
    const onMessage = (reply: Reply): void => {
      settle();
      if ('error' in reply) reject(new Error(`cedar thread: ${reply.error}`));
      else resolve(reply.answers);
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
    thread.postMessage({ fn, calls });
  });
}
