/**
 * The floor: a grpc-js server with gatehouse's own protos that answers every Check with a fixed
 * OK. No Node ext_authz server can be faster than this on the same machine.
 */
import * as grpc from '@grpc/grpc-js';
import { authorizationService } from '../src/wire/protos.js';

const fixed = { status: { code: 0, message: '' }, ok_response: { headers: [], headers_to_remove: [] } };
const server = new grpc.Server();
server.addService(authorizationService, {
  Check: (_call: unknown, callback: grpc.sendUnaryData<typeof fixed>) => callback(null, fixed),
});
server.bindAsync(process.argv[2] ?? '127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stderr.write(`${JSON.stringify({ message: 'floor serving', grpc: `127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
