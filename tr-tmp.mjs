import { join } from 'node:path';
const wt = '/work/main';
const m = (p) => import(join(wt, 'dist/src', p));
const { frontend } = await import(`${wt}/dist/bench/estate.js`);
const { translateAuthzRequest } = await m('transport/http-authz-request.js');
const { requestFacts } = await m('core/decode.js');
const { parseRequest } = await m('core/parse-request.js');
const host = 'orders.shop.svc.cluster.local:8080';
const raw = ['host', '127.0.0.1:40000', 'user-agent', 'h2load nghttp2/1.52.0', 'x-forwarded-method', 'GET', 'x-forwarded-proto', 'http', 'x-forwarded-host', host, 'x-forwarded-uri', '/api/orders/42', 'x-request-id', 'r-42', 'x-forwarded-client-cert', `By=spiffe://cluster.local/ns/ingress/sa/gateway;URI=${frontend}`];
const options = { envoyPathPrefix: '/envoy', forwardAuthPath: '/forward-auth', trustedProxy: () => false };
const req = () => ({ method: 'GET', target: '/forward-auth', authority: raw[1], rawHeaders: raw.slice(), peer: { address: '127.0.0.1', port: 40000 }, httpVersion: '1.1' });
const limits = { maxHeaders: 100, maxHeaderBytes: 65536 };
const time = (name, f, n = 300000) => { for (let i = 0; i < 30000; i++) f(); const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) f(); console.log(name, (Number(process.hrtime.bigint() - t) / n).toFixed(0), 'ns'); };
const t = translateAuthzRequest(req(), options);
const facts = requestFacts(t.message, limits);
for (let r = 0; r < 2; r++) {
  time('translate', () => translateAuthzRequest(req(), options));
  time('requestFacts', () => requestFacts(t.message, limits));
  time('parseRequest', () => parseRequest(facts));
}
