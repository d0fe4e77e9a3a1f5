/**
 * The HTTP wire in `npm run bench`: forward auth and Envoy `http_service` through gatehouse's
 * HTTP authorization listener (no proxy in front), against the HTTP floor (a bare node:http
 * server answering 200, bench/http-floor-server.ts) driven by the same load in the same run.
 * Each load runs in rounds, gatehouse then the floor in each, and the ratio is the median of the
 * rounds' ratios: on a shared machine, a pair of back-to-back runs sees the same neighbours more
 * often than two runs a minute apart. Two loads: h2load
 * over HTTP/1.1 repeating one request, and bench/http-loadgen.ts cycling distinct paths and
 * request ids. Every load first checks that gatehouse answers 200 (an allow).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { frontend } from './estate.js';
import { h2loadHttp1, httpLoadgen, startServed, type LoadResult, type Served } from './processes.js';

export interface HttpScenario {
  readonly name: string;
  /** YAML merged into the config before `httpAuthz` (identity settings). */
  readonly identityConfig: string;
  readonly request: (i: number) => HttpShape;
  /** Also measure the listener without the pipeline (bench/http-listener-server.ts) under the repeated load. */
  readonly listenerOnly?: boolean;
}

/** One authorization request as the proxy sends it: the target on gatehouse's listener and its headers. */
export interface HttpShape {
  readonly target: string;
  /** Sent as Host; `''` leaves the listener's own address. */
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpRow {
  readonly scenario: string;
  readonly load: 'repeated (h2load --h1)' | 'distinct (http-loadgen)' | 'repeated, listener only';
  /** The round whose ratio is the median. */
  readonly gatehouse: LoadResult;
  readonly floor: LoadResult;
  /** gatehouse req/s ÷ floor req/s of each round, ascending. */
  readonly ratios: readonly number[];
  /**
   * CPU time (user + system) per request of the gatehouse process and of the floor's, in µs, in
   * the round shown: steadier than req/s on a shared machine, where neighbours take the cores.
   */
  readonly cpuUs: { readonly gatehouse: number; readonly floor: number };
  readonly rssMb: number;
}

/** One load's result and the server's CPU time per request over it. */
interface Measured {
  readonly result: LoadResult;
  readonly cpuUs: number;
}

export interface HttpWireSetup {
  readonly gatehouseMain: string;
  readonly floorScript: string;
  readonly listenerScript: string;
  readonly loadgenScript: string;
  readonly work: string;
  /** Length of one run; a load takes `rounds` runs of gatehouse and as many of the floor. */
  readonly seconds: number;
  readonly rounds: number;
  /** Keep-alive connections, one request in flight on each: a proxy's pool. */
  readonly connections: number;
  readonly policies: string;
}

const ordersHost = 'orders.shop.svc.cluster.local:8080';

/** Forward auth as ingress-nginx or Traefik sends it: the original request in X-Forwarded-*. */
export function forwardAuth(credential: Readonly<Record<string, string>>) {
  return (i: number): HttpShape => ({
    target: '/forward-auth',
    host: '',
    headers: {
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': ordersHost,
      'x-forwarded-uri': `/api/orders/${i}`,
      'x-request-id': `r-${i}`,
      ...credential,
    },
  });
}

/** Envoy `http_service`: the original request under the path prefix, with its own Host. */
export function envoyHttp(credential: Readonly<Record<string, string>>) {
  return (i: number): HttpShape => ({ target: `/envoy/api/orders/${i}`, host: ordersHost, headers: { 'x-request-id': `r-${i}`, ...credential } });
}

/** A workload identity the way a proxy that terminates mTLS passes it on (trusted XFCC). */
export const xfccFrontend = { 'x-forwarded-client-cert': `By=spiffe://cluster.local/ns/ingress/sa/gateway;URI=${frontend}` };

function requestText(shape: HttpShape, listener: string): string {
  const lines = [`GET ${shape.target} HTTP/1.1`, `host: ${shape.host === '' ? listener : shape.host}`, ...Object.entries(shape.headers).map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function allAllowed(result: LoadResult): boolean {
  const statuses = Object.keys(result.httpStatus ?? {});
  return result.failures === 0 && statuses.length === 1 && statuses[0] === '200';
}

/**
 * The load against `served`, with the server's CPU time per request. Both generators warm up for
 * a second before they count, at about the rate they then measure, so the requests of the CPU
 * time are taken as that rate over the whole run.
 */
async function withCpu(served: Served, seconds: number, load: () => Promise<LoadResult>): Promise<Measured> {
  const cpu = (): number => served.processes().reduce((sum, p) => sum + p.cpuSeconds, 0);
  const before = cpu();
  const result = await load();
  return { result, cpuUs: ((cpu() - before) * 1e6) / Math.max(1, result.rps * (seconds + 1)) };
}

/** `count` rounds of gatehouse then the floor; the round of the median ratio, and every ratio. */
async function rounds(
  count: number,
  gatehouse: () => Promise<Measured>,
  floor: () => Promise<Measured>,
): Promise<{ median: Pick<HttpRow, 'gatehouse' | 'floor' | 'ratios' | 'cpuUs'>; all: LoadResult[] }> {
  const pairs: { gatehouse: Measured; floor: Measured; ratio: number }[] = [];
  for (let round = 0; round < count; round++) {
    const g = await gatehouse();
    const f = await floor();
    pairs.push({ gatehouse: g, floor: f, ratio: g.result.rps / f.result.rps });
  }
  pairs.sort((a, b) => a.ratio - b.ratio);
  const median = pairs[Math.floor((pairs.length - 1) / 2)]!;
  return {
    median: {
      gatehouse: median.gatehouse.result,
      floor: median.floor.result,
      ratios: pairs.map((pair) => pair.ratio),
      cpuUs: { gatehouse: median.gatehouse.cpuUs, floor: median.floor.cpuUs },
    },
    all: pairs.map((pair) => pair.gatehouse.result),
  };
}

export async function measureHttpWire(scenario: HttpScenario, setup: HttpWireSetup, logFd: number): Promise<HttpRow[]> {
  const configFile = join(setup.work, `${scenario.name}.yaml`);
  writeFileSync(configFile, `${scenario.identityConfig}httpAuthz:\n  enabled: true\n  listen: "127.0.0.1:0"\n`);
  const server = await startServed(
    [setup.gatehouseMain, 'serve', '--config', configFile, '--policies', setup.policies, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--workers', '1'],
    logFd,
  );
  let floor: Served | undefined;
  let listener: Served | undefined;
  try {
    const floorServer = await startServed([setup.floorScript, '127.0.0.1:0']);
    floor = floorServer;
    const gatehouse = server.addresses['httpAuthz']!;
    const floorAddress = floorServer.addresses['http']!;
    const requestsFile = (listener: string, count: number): string => {
      const file = join(setup.work, `${scenario.name}-${listener.replace(/\W/g, '_')}-${count}.json`);
      writeFileSync(file, JSON.stringify(Array.from({ length: count }, (_, i) => requestText(scenario.request(count === 1 ? 42 : i), listener))));
      return file;
    };
    const loadgen = (served: Served, target: string, count: number): Promise<Measured> =>
      withCpu(served, setup.seconds, () => httpLoadgen(setup.loadgenScript, { target, requests: requestsFile(target, count), connections: setup.connections, seconds: setup.seconds }));
    // h2load counts any answer as done: the same request through our generator checks it is an allow.
    const check = await httpLoadgen(setup.loadgenScript, { target: gatehouse, requests: requestsFile(gatehouse, 1), connections: 2, seconds: 1 });
    if (!allAllowed(check)) throw new Error(`${scenario.name}: expected every answer 200, got ${JSON.stringify(check)}`);

    const repeated = scenario.request(42);
    const h2 = (served: Served, target: string): Promise<Measured> =>
      withCpu(served, setup.seconds, () =>
        h2loadHttp1(`http://${target}${repeated.target}`, { ...(repeated.host === '' ? {} : { ':authority': repeated.host }), ...repeated.headers }, setup.seconds, setup.connections, join(setup.work, 'h2-http.log')),
      );
    const repeatedRounds = await rounds(setup.rounds, () => h2(server, gatehouse), () => h2(floorServer, floorAddress));
    const distinctRounds = await rounds(setup.rounds, () => loadgen(server, gatehouse, 5000), () => loadgen(floorServer, floorAddress, 5000));
    const refused = distinctRounds.all.find((result) => !allAllowed(result));
    if (refused) throw new Error(`${scenario.name}: distinct load not all allowed: ${JSON.stringify(refused)}`);
    const rows: HttpRow[] = [
      { scenario: scenario.name, load: 'repeated (h2load --h1)', ...repeatedRounds.median, rssMb: server.rssMb() },
      { scenario: scenario.name, load: 'distinct (http-loadgen)', ...distinctRounds.median, rssMb: server.rssMb() },
    ];
    if (scenario.listenerOnly) {
      const listenerServer = await startServed([setup.listenerScript, '127.0.0.1:0']);
      listener = listenerServer;
      const listenerAddress = listenerServer.addresses['httpAuthz']!;
      // As gatehouse: checked to allow, and warmed by that check, before its first round.
      const listenerCheck = await httpLoadgen(setup.loadgenScript, { target: listenerAddress, requests: requestsFile(listenerAddress, 1), connections: 2, seconds: 1 });
      if (!allAllowed(listenerCheck)) throw new Error(`${scenario.name}: the listener alone should allow, got ${JSON.stringify(listenerCheck)}`);
      const listenerRounds = await rounds(setup.rounds, () => h2(listenerServer, listenerAddress), () => h2(floorServer, floorAddress));
      rows.push({ scenario: scenario.name, load: 'repeated, listener only', ...listenerRounds.median, rssMb: listenerServer.rssMb() });
    }
    return rows;
  } finally {
    await Promise.all([server.stop(), floor?.stop(), listener?.stop()]);
  }
}
