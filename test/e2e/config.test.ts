/**
 * `gatehouse serve --config FILE` as an operator meets it: a wrong file stops the start with
 * exit 2 and a message naming the key; flags override the file; values in the file take effect.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { cleanup, configFile, copyExamplePolicies, examplePolicyDir, runGatehouse, startGatehouse } from '../support/server-process.js';

const clients: GatehouseClient[] = [];
const held: Server[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  await cleanup();
});

/** A loopback port held open by this process, so that nothing else can bind it. */
async function heldPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** stderr lines that are not the JSON ops log: what a person reads when the start fails. */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

/** `serve` with a config file; ephemeral ports unless the case is about them. */
async function serveWith(yaml: string, flags: readonly string[] = ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']) {
  return runGatehouse(['serve', '--config', await configFile(yaml), ...flags]);
}

describe('a config file that is wrong stops the start with exit 2 and names the key', () => {
  test.each<[string, string, readonly RegExp[]]>([
    ['an unknown top-level key', 'listne: "127.0.0.1:0"\n', [/listne/]],
    ['an unknown nested key', 'identity:\n  trustDomainz: ["cluster.local"]\n', [/identity\.trustDomainz/]],
    ['an unknown key deep down', 'response:\n  assertion:\n    enable: true\n', [/response\.assertion\.enable\b/]],
    ['mode: maybe', 'mode: maybe\n', [/\bmode\b/, /enforce/]],
    ['a mode of the wrong type', 'mode: 1\n', [/\bmode\b/]],
    ['a negative limit', 'limits:\n  maxHeaders: -1\n', [/limits\.maxHeaders/]],
    ['a trust domain list that is not a list', 'identity:\n  trustDomains: cluster.local\n', [/identity\.trustDomains/]],
    ['a JWT issuer without keys', 'identity:\n  jwt:\n    - issuer: "https://issuer.example"\n      kind: oidc\n      audiences: ["gatehouse"]\n', [/identity\.jwt\.0/]],
  ])('%s', async (_name, yaml, messages) => {
    const result = await serveWith(yaml);
    expect(result).toMatchObject({ code: 2, timedOut: false });
    for (const message of messages) expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a message for an operator, not a stack trace
    expect(result.stdout).toBe('');
  });

  test.each<[string, string, RegExp]>([
    ['listen: nope', 'listen: nope\n', /\blisten\b/],
    ['httpListen: nope', 'httpListen: nope\n', /\bhttpListen\b/],
  ])('%s (no flag to override it)', async (_name, yaml, message) => {
    const result = await serveWith(yaml, []);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  test('every problem is reported at once', async () => {
    const result = await serveWith('mode: maybe\nlisten: nope\nbogus: 1\n', ['--http-listen', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\bmode\b/);
    expect(result.stderr).toMatch(/\blisten\b/);
    expect(result.stderr).toMatch(/\bbogus\b/);
  });

  test.each<[string, string, RegExp]>([
    ['a YAML list instead of a mapping', '- listen\n- mode\n', /mapping/],
    ['text that is not YAML', 'mode: [enforce\n', /not valid YAML/],
  ])('%s', async (_name, yaml, message) => {
    const result = await serveWith(yaml);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  test('a config file that does not exist', async () => {
    const result = await runGatehouse(['serve', '--config', '/nonexistent/gatehouse.yaml', '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('/nonexistent/gatehouse.yaml');
  });

  test('an unknown flag', async () => {
    const result = await runGatehouse(['serve', '--listne', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--listne');
  });

  // Regression: the schema took any 1-5 digit port, so the start failed later in bind with a stack trace.
  test('a port above 65535 names the key', async () => {
    const result = await serveWith('listen: "127.0.0.1:99999"\n', ['--http-listen', '127.0.0.1:0', '--workers', '1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\blisten\b/);
  });
});

describe('a port that cannot be bound', () => {
  async function bindInUse(flag: string, workers: string) {
    const port = await heldPort();
    const other = flag === '--listen' ? '--http-listen' : '--listen';
    // A start that fails takes about a second; one still running after 5 s is hung.
    return runGatehouse(['serve', '--policies', examplePolicyDir, '--workers', workers, flag, `127.0.0.1:${port}`, other, '127.0.0.1:0'], 5000);
  }

  // Regression: a failed HTTP bind left the gRPC listener up, so the process never exited.
  test.each<[string, string]>([
    ['--listen', '1'],
    ['--http-listen', '1'],
    ['--listen', '2'],
  ])('%s on a port in use, %s worker(s): exits non-zero instead of running on', async (flag, workers) => {
    const result = await bindInUse(flag, workers);
    expect(result).toMatchObject({ timedOut: false, signal: null });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/EADDRINUSE/);
  });

  // Regression: a port in use ended the start with grpc-js's or node:net's stack trace.
  test.each<[string, string, string]>([
    ['--listen', '1', '--listen / listen'],
    ['--http-listen', '1', '--http-listen / httpListen'],
  ])('%s on a port in use, %s worker(s): one line naming the address, exit 2', async (flag, workers, setting) => {
    const port = await heldPort();
    const other = flag === '--listen' ? '--http-listen' : '--listen';
    const result = await runGatehouse(['serve', '--policies', examplePolicyDir, '--workers', workers, flag, `127.0.0.1:${port}`, other, '127.0.0.1:0'], 5000);
    expect(result.code).toBe(2);
    expect(plainLines(result.stderr)).toEqual([`gatehouse serve: cannot listen on 127.0.0.1:${port} (${setting}): the address is already in use (EADDRINUSE)`]);
  });

  // Regression: a primary that could not bind the HTTP port threw without stopping its workers.
  test('--http-listen on a port in use, 2 workers: exits non-zero instead of running on', async () => {
    const result = await bindInUse('--http-listen', '2');
    expect(result).toMatchObject({ timedOut: false, signal: null });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('the policy directory at start', () => {
  // Regression: a mistyped --policies started a server that answered UNAVAILABLE to every Check.
  test.each([
    ['--policies naming nothing', ['--policies', '/nonexistent/policies'], 'gatehouse serve: --policies /nonexistent/policies: no such directory'],
    ['--policies naming a file', ['--policies', `${examplePolicyDir}/shop.cedar`], `gatehouse serve: --policies ${examplePolicyDir}/shop.cedar: not a directory`],
  ])('%s: exit 2, one line', async (_name, flags, line) => {
    const result = await runGatehouse(['serve', ...flags, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--workers', '1']);
    expect(result).toMatchObject({ code: 2, timedOut: false });
    expect(plainLines(result.stderr)).toEqual([line]);
  });

  test('policies: in the config file naming nothing is named as the key', async () => {
    const result = await serveWith('policies: "/nonexistent/policies"\n');
    expect(result.code).toBe(2);
    expect(plainLines(result.stderr)).toEqual(['gatehouse serve: policies /nonexistent/policies: no such directory']);
  });

  // Regression: with nothing loaded yet, the log said "the last good set stays in use".
  test('a set that fails to load at start says no set is loaded and Checks are answered UNAVAILABLE', async () => {
    const dir = await copyExamplePolicies();
    await writeFile(join(dir, 'broken.cedar'), '@id("broken")\npermit (principal, action, resource) when { context.path == ;\n');
    const server = await startGatehouse({ policies: dir });
    const failed = server.opsLog().filter((entry) => entry.level === 'error').map((entry) => entry.message);
    expect(failed).toEqual(['policy set failed to load: no policy set is loaded; every Check is answered UNAVAILABLE']);
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('flags override the file', () => {
  test('--listen wins over a listen in the file, even one that is invalid or taken', async () => {
    for (const listen of ['nope', `127.0.0.1:${await heldPort()}`]) {
      const server = await startGatehouse({ configYaml: `listen: "${listen}"\nhttpListen: "127.0.0.1:0"\n`, args: ['--listen', '127.0.0.1:0'] });
      const client = new GatehouseClient(server.grpcTarget);
      clients.push(client);
      expect(`127.0.0.1:${server.grpcPort}`).not.toBe(listen);
      expect(await client.healthStatus()).toBe('SERVING');
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  test('--http-listen and --policies win over the file', async () => {
    const server = await startGatehouse({
      configYaml: 'listen: "127.0.0.1:0"\nhttpListen: "nope"\npolicies: "/nonexistent/policies"\n',
      args: ['--http-listen', '127.0.0.1:0', '--policies', examplePolicyDir],
    });
    const client = new GatehouseClient(server.grpcTarget);
    clients.push(client);
    expect(await client.healthStatus()).toBe('SERVING');
    expect(statusCode(await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' })))).toBe(0);
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('values in the file take effect', () => {
  test('mode: dry-run and a renamed principal header', async () => {
    const server = await startGatehouse({
      configYaml: `policies: "${examplePolicyDir}"\nmode: dry-run\nresponse:\n  principalHeader: x-caller\n`,
    });
    const client = new GatehouseClient(server.grpcTarget);
    clients.push(client);

    const denied = await client.check(checkRequest({ principal: 'spiffe://cluster.local/ns/shop/sa/checkout', path: '/api/orders/1' }));
    expect(statusCode(denied)).toBe(0);
    expect(headerValue(denied, 'x-gatehouse-dry-run')).toBe('deny');
    const line = await server.decision(headerValue(denied, 'x-gatehouse-decision-id')!);
    expect(line).toMatchObject({ decision: 'deny', mode: 'dry-run' });

    const allowed = await client.check(checkRequest({ principal: frontend, path: '/api/orders/1' }));
    expect(headerValue(allowed, 'x-caller')).toBe(frontend);
    expect(headerValue(allowed, 'x-gatehouse-principal')).toBeUndefined();
    expect(headerValue(allowed, 'x-gatehouse-dry-run')).toBeUndefined();
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
