/**
 * Mutated CheckRequests sent as raw bytes to the real server process. Each answer is checked
 * against the same bytes decided in process with the same configuration (a differential test of
 * the whole transport: grpc-js decoding, the handler, the response encoding), and the server must
 * survive all of them, log exactly one well-formed line per answered Check, and then still decide
 * a normal request.
 */
import { parseConfig } from '../../src/config.js';
import { checkRequest, decodeCheckResponse, frontend, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { examplePolicyDir, type ServerProcess } from '../support/server-process.js';
import { inputSource } from './core-fuzz.js';
import { lineProblem, responseProblem } from './invariants.js';
import { DecisionPipeline } from './pipeline.js';
import { Random } from './random.js';
import { makeTokenKit } from './tokens.js';

const grpcInternal = 13;

export interface ServerFuzzReport {
  readonly sent: number;
  readonly answered: number;
  readonly grpcErrors: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  readonly problems: readonly string[];
}

/** Sends `count` inputs with `concurrency` calls in flight; `server` runs the default config on the example policies. */
export async function runServerFuzz(server: ServerProcess, options: { count: number; seed: number; concurrency: number }): Promise<ServerFuzzReport> {
  const pipeline = await DecisionPipeline.create(parseConfig({ policies: examplePolicyDir }));
  const next = inputSource(new Random(options.seed), await makeTokenKit());
  const client = new GatehouseClient(server.grpcTarget);
  const problems: string[] = [];
  const grpcErrors: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const linesBefore = server.decisions.length;
  let answered = 0;
  let sent = 0;
  const started = performance.now();
  const problem = (text: string, input: Uint8Array): void => {
    if (problems.length < 25) problems.push(`${text} (input ${Buffer.from(input).toString('base64').slice(0, 400)})`);
  };

  const worker = async (): Promise<void> => {
    while (sent < options.count) {
      sent += 1;
      const input = next();
      const expected = await pipeline.run(input, Math.floor(Date.now() / 1000));
      const outcome = await client.raw(input, 10_000);
      if (!outcome.ok) {
        grpcErrors[outcome.error.code] = (grpcErrors[outcome.error.code] ?? 0) + 1;
        if (expected.kind === 'decided') problem(`gRPC error ${outcome.error.code} ${outcome.error.details} for a request decided in process`, input);
        else if (outcome.error.code !== grpcInternal) problem(`gRPC error ${outcome.error.code} for undecodable bytes (expected INTERNAL)`, input);
        continue;
      }
      answered += 1;
      let response;
      try {
        response = decodeCheckResponse(outcome.value);
      } catch (err) {
        problem(`answer is not a CheckResponse: ${String(err)}`, input);
        continue;
      }
      const code = statusCode(response);
      statuses[code] = (statuses[code] ?? 0) + 1;
      const shape = responseProblem(response);
      if (shape !== undefined) problem(`response: ${shape}`, input);
      if (expected.kind !== 'decided') {
        problem('answered bytes that protobuf refuses in process', input);
        continue;
      }
      const wanted = expected.response.status.code;
      if (code !== wanted) problem(`server answered ${code}, in process ${wanted} (${expected.decision.kind})`, input);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    await server.waitForDecisions(linesBefore + answered, 10_000).catch(() => undefined);
    const logged = server.decisions.length - linesBefore;
    if (logged !== answered) problems.push(`${logged} decision lines for ${answered} answered Checks`);
    if (server.strayStdout.length > 0) problems.push(`stdout lines that are not JSON: ${server.strayStdout.slice(0, 3).join(' | ')}`);
    for (const line of server.stdoutLines) {
      const bad = lineProblem(line);
      if (bad !== undefined) {
        problems.push(`decision line: ${bad}`);
        break;
      }
    }
    if (server.exitInfo !== undefined) problems.push(`the server exited: ${JSON.stringify(server.exitInfo)}`);
    else {
      const after = await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' }));
      if (statusCode(after) !== 0 || headerValue(after, 'x-gatehouse-principal') !== frontend) {
        problems.push(`a normal Check afterwards was not allowed: ${JSON.stringify(after)}`);
      }
    }
  } finally {
    client.close();
  }
  return { sent, answered, grpcErrors, statuses, elapsedMs: performance.now() - started, problems };
}
