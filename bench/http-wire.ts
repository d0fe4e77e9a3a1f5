/**
 * The HTTP wire in `npm run bench`: forward auth and Envoy `http_service` through gatehouse's
 * HTTP authorization listener (no proxy in front), against the HTTP floor (a bare node:http
 * server answering 200, bench/http-floor-server.ts) driven by the same load in the same run.
 * Each load runs in rounds, and the ratio is the median of the rounds' ratios. Every round
 * starts gatehouse and the floor afresh: on this shared VM one process runs ±10% off another of
 * the same build for its whole life (`scripts/perf/http-ab-server.mjs` A/A), so rounds of one
 * pair of processes all share that pair's luck. Within a round the two runs of a load are back to
 * back (they see the same neighbours more often than runs a minute apart), gatehouse first in
 * even rounds and the floor first in odd ones, so neither always runs on a warmer or cooler
 * machine. Two loads: h2load over HTTP/1.1 repeating one request, and bench/http-loadgen.ts
 * cycling distinct paths and request ids. Every round first checks that gatehouse answers 200
 * (an allow).
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

interface Pair {
  readonly gatehouse: Measured;
  readonly floor: Measured;
  readonly ratio: number;
}

/** One round's two runs of a load, back to back, in the order asked. */
async function pair(gatehouseFirst: boolean, gatehouse: () => Promise<Measured>, floor: () => Promise<Measured>): Promise<Pair> {
  const g = gatehouseFirst ? await gatehouse() : undefined;
  const f = await floor();
  const measured = g ?? (await gatehouse());
  return { gatehouse: measured, floor: f, ratio: measured.result.rps / f.result.rps };
}

/** The round of the median ratio, and every ratio. */
function medianOf(pairs: readonly Pair[]): Pick<HttpRow, 'gatehouse' | 'floor' | 'ratios' | 'cpuUs'> {
  const sorted = [...pairs].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return {
    gatehouse: median.gatehouse.result,
    floor: median.floor.result,
    ratios: sorted.map((p) => p.ratio),
    cpuUs: { gatehouse: median.gatehouse.cpuUs, floor: median.floor.cpuUs },
  };
}

export async function measureHttpWire(scenario: HttpScenario, setup: HttpWireSetup, logFd: number): Promise<HttpRow[]> {
  const configFile = join(setup.work, `${scenario.name}.yaml`);
  writeFileSync(configFile, `${scenario.identityConfig}httpAuthz:\n  enabled: true\n  listen: "127.0.0.1:0"\n`);
  const requestsFile = (listener: string, count: number): string => {
    const file = join(setup.work, `${scenario.name}-${listener.replace(/\W/g, '_')}-${count}.json`);
    writeFileSync(file, JSON.stringify(Array.from({ length: count }, (_, i) => requestText(scenario.request(count === 1 ? 42 : i), listener))));
    return file;
  };
  const loadgen = (served: Served, target: string, count: number): Promise<Measured> =>
    withCpu(served, setup.seconds, () => httpLoadgen(setup.loadgenScript, { target, requests: requestsFile(target, count), connections: setup.connections, seconds: setup.seconds }));
  const repeated = scenario.request(42);
  const h2 = (served: Served, target: string): Promise<Measured> =>
    withCpu(served, setup.seconds, () =>
      h2loadHttp1(`http://${target}${repeated.target}`, { ...(repeated.host === '' ? {} : { ':authority': repeated.host }), ...repeated.headers }, setup.seconds, setup.connections, join(setup.work, 'h2-http.log')),
    );
  /** h2load counts any answer as done: the same request through our generator checks it is an allow (and warms the server). */
  const checkAllows = async (target: string, what: string): Promise<void> => {
    const check = await httpLoadgen(setup.loadgenScript, { target, requests: requestsFile(target, 1), connections: 2, seconds: 1 });
    if (!allAllowed(check)) throw new Error(`${scenario.name}: expected ${what} to answer every request 200, got ${JSON.stringify(check)}`);
  };

  const repeatedPairs: Pair[] = [];
  const distinctPairs: Pair[] = [];
  const listenerPairs: Pair[] = [];
  let rssMb = 0;
  let listenerRssMb = 0;
  for (let round = 0; round < setup.rounds; round++) {
    const started: Served[] = [];
    try {
      const server = await startServed(
        [setup.gatehouseMain, 'serve', '--config', configFile, '--policies', setup.policies, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--workers', '1'],
        logFd,
      );
      started.push(server);
      const floor = await startServed([setup.floorScript, '127.0.0.1:0']);
      started.push(floor);
      const gatehouse = server.addresses['httpAuthz']!;
      const floorAddress = floor.addresses['http']!;
      await checkAllows(gatehouse, 'gatehouse');
      const gatehouseFirst = round % 2 === 0;
      repeatedPairs.push(await pair(gatehouseFirst, () => h2(server, gatehouse), () => h2(floor, floorAddress)));
      const distinct = await pair(gatehouseFirst, () => loadgen(server, gatehouse, 5000), () => loadgen(floor, floorAddress, 5000));
      if (!allAllowed(distinct.gatehouse.result)) throw new Error(`${scenario.name}: distinct load not all allowed: ${JSON.stringify(distinct.gatehouse.result)}`);
      distinctPairs.push(distinct);
      rssMb = Math.max(rssMb, server.rssMb());
      if (scenario.listenerOnly) {
        const listener = await startServed([setup.listenerScript, '127.0.0.1:0']);
        started.push(listener);
        const listenerAddress = listener.addresses['httpAuthz']!;
        // As gatehouse: checked to allow, and warmed by that check, before it is measured.
        await checkAllows(listenerAddress, 'the listener alone');
        listenerPairs.push(await pair(gatehouseFirst, () => h2(listener, listenerAddress), () => h2(floor, floorAddress)));
        listenerRssMb = Math.max(listenerRssMb, listener.rssMb());
      }
    } finally {
      await Promise.all(started.map((served) => served.stop()));
    }
  }
  const rows: HttpRow[] = [
    { scenario: scenario.name, load: 'repeated (h2load --h1)', ...medianOf(repeatedPairs), rssMb },
    { scenario: scenario.name, load: 'distinct (http-loadgen)', ...medianOf(distinctPairs), rssMb },
  ];
  if (scenario.listenerOnly) rows.push({ scenario: scenario.name, load: 'repeated, listener only', ...medianOf(listenerPairs), rssMb: listenerRssMb });
  return rows;
}
