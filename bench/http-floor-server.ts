/**
 * The HTTP floor: a bare node:http server answering every request 200 with an empty body, as
 * gatehouse answers an allow. No Node HTTP authorization server can be faster on the machine.
 */
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-length': '0' });
  res.end();
});
const listen = process.argv[2] ?? '127.0.0.1:0';
server.listen(Number(listen.slice(listen.lastIndexOf(':') + 1)), listen.slice(0, listen.lastIndexOf(':')), () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stderr.write(`${JSON.stringify({ message: 'http floor serving', http: `127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
