/**
 * `serve --workers 2` with the HTTP authorization listener: node:cluster shares its port among the
 * workers as it shares the gRPC port, both workers answer /forward-auth, the primary writes one
 * decision line per request, and /metrics merges the workers' counts under `wire`.
 */
import http from 'node:http';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { frontend } from '../support/check-client.js';
import { cleanup, httpGet, startGatehouse, type ServerProcess } from '../support/server-process.js';

const configYaml = `
identity:
  trustForwardedClientCert: true
httpAuthz:
  enabled: true
  listen: "127.0.0.1:0"
`;

/** Keep-alive connections held open by the agent: node:cluster hands out connections, not requests. */
const connections = 8;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
let server: ServerProcess;

beforeAll(async () => {
  server = await startGatehouse({ workers: 2, configYaml });
});

afterAll(async () => {
  agent.destroy();
  await cleanup();
});

interface Answer {
  readonly status: number;
  readonly decisionId: string;
}

/** Forward auth as ingress-nginx asks it, over the shared keep-alive connections. */
function forwardAuth(method: string, path: string, requestId: string): Promise<Answer> {
  const headers = {
    'x-original-method': method,
    'x-original-url': `http://orders.shop.svc.cluster.local:8080${path}`,
    'x-forwarded-client-cert': `URI=${frontend}`,
    'x-request-id': requestId,
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.httpAuthzPort, path: '/forward-auth', headers, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, decisionId: String(res.headers['x-gatehouse-decision-id'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // After "pid (comm) state": the parent's pid. comm may hold spaces and parentheses.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Established TCP connections on local `port` that process `pid` holds a descriptor of. */
function connectionsHeld(pid: number, port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set(
    ['tcp', 'tcp6'].flatMap((table) =>
      readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        // local_address is ADDR:PORT in hex; state 01 is ESTABLISHED.
        .filter((fields) => fields[1]?.endsWith(`:${portHex}`) && fields[3] === '01')
        .map((fields) => fields[9]!),
    ),
  );
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false;
    }
  }).length;
}

test('both workers answer /forward-auth on the shared port; one decision line per request; metrics merged by wire', async () => {
  expect(server.httpAuthzPort).toBeGreaterThan(0);
  const workers = childPids(server.child.pid!);
  expect(workers).toHaveLength(2);

  // Open every connection of the pool at once, so that node:cluster hands them to both workers.
  const warm = await Promise.all(Array.from({ length: connections }, (_, i) => forwardAuth('GET', `/api/orders/warm-${i}`, `warm-${i}`)));
  expect(warm.map((answer) => answer.status)).toEqual(Array(connections).fill(200));
  const held = workers.map((pid) => connectionsHeld(pid, server.httpAuthzPort));
  expect(held.every((count) => count > 0)).toBe(true);
  expect(held.reduce((a, b) => a + b, 0)).toBe(connections);

  const calls = 200;
  const answers = await Promise.all(
    Array.from({ length: calls }, (_, i) => (i % 2 === 0 ? forwardAuth('GET', `/api/orders/${i}`, `r-${i}`) : forwardAuth('DELETE', `/api/orders/${i}`, `r-${i}`))),
  );
  // The frontend reads orders and may not delete them.
  answers.forEach((answer, i) => expect({ i, status: answer.status }).toEqual({ i, status: i % 2 === 0 ? 200 : 403 }));

  const total = connections + calls;
  const lines = await server.waitForDecisions(total);
  // Settle: a second line for any request would arrive with the rest.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(server.decisions).toHaveLength(total);
  expect(server.strayStdout).toEqual([]);
  expect(new Set(lines.map((line) => line.decisionId)).size).toBe(total);
  const byId = new Map(lines.map((line) => [line.decisionId, line]));
  answers.forEach((answer, i) => {
    expect(byId.get(answer.decisionId)).toMatchObject({ requestId: `r-${i}`, wire: 'forward-auth', decision: i % 2 === 0 ? 'allow' : 'deny', principal: `Workload::"${frontend}"` });
  });

  const metrics = (await httpGet(server, '/metrics')).body;
  const counted = (wire: string): number =>
    [...metrics.matchAll(/^gatehouse_decisions_total\{([^}]*)\} (\d+)$/gm)].filter((m) => m[1]!.includes(`wire="${wire}"`)).reduce((sum, m) => sum + Number(m[2]), 0);
  expect(counted('forward-auth')).toBe(total);
  expect(counted('grpc')).toBe(0);
  expect(metrics).toMatch(new RegExp(`^gatehouse_decisions_total\\{outcome="deny",reason="policy_denied",wire="forward-auth"\\} ${calls / 2}$`, 'm'));
});
