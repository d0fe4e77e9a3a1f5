/**
 * The HTTP wire on its own: gatehouse's HTTP authorization listener (the server telling HTTP/1.1
 * from h2c, the translation, the answer) in front of a Check that only decodes the request and
 * answers a fixed allow: no identity, no Cedar, no decision log. Between the HTTP floor and
 * gatehouse in `npm run bench -- --http`, it tells what the wire adds to node:http from what the
 * shared pipeline adds to the wire. Not a server anyone should run: it allows every request.
 */
import { forwardAuthPath } from '../src/config.js';
import { requestFacts, type CheckRequestMessage } from '../src/core/decode.js';
import type { CheckResponseMessage } from '../src/core/respond.js';
import type { RunOptions } from '../src/pipeline/check-pipeline.js';
import { newDecisionId } from '../src/pipeline/decision-id.js';
import { createHttpAuthzServer } from '../src/transport/http-authz-server.js';
import { frontend } from './estate.js';

const limits = { maxHeaders: 100, maxHeaderBytes: 65536 };

/** The allow gatehouse answers the bench's requests with, its headers as the pipeline sets them. */
function allow(decisionId: string): CheckResponseMessage {
  const set = (key: string, value: string) => ({ header: { key, value }, append_action: 2 as const }) // OVERWRITE_IF_EXISTS_OR_ADD, by number as the server's codec takes it;
  return {
    status: { code: 0, message: '' },
    ok_response: { headers: [set('x-gatehouse-principal', frontend), set('x-gatehouse-decision-id', decisionId)], headers_to_remove: [], response_headers_to_add: [] },
  };
}

const checks = {
  async run(message: CheckRequestMessage, options: RunOptions) {
    const problems = [...(options.problems ?? []), ...requestFacts(message, limits).problems];
    // A request the real pipeline would refuse must not be counted as an allow.
    if (problems.length > 0) throw new Error(problems.join('; '));
    const decisionId = newDecisionId(Date.now());
    return { response: allow(decisionId), decisionId };
  },
};

const listen = process.argv[2] ?? '127.0.0.1:0';
const server = createHttpAuthzServer(checks, { envoyPathPrefix: '/envoy', forwardAuthPath, trustedProxy: () => false, maxHeaderBytes: limits.maxHeaderBytes, decisionHeader: 'x-gatehouse-decision-id' });
const port = await server.listen(Number(listen.slice(listen.lastIndexOf(':') + 1)), listen.slice(0, listen.lastIndexOf(':')));
process.stderr.write(`${JSON.stringify({ message: 'http listener serving', httpAuthz: `127.0.0.1:${port}` })}\n`);
process.on('SIGTERM', () => process.exit(0));
