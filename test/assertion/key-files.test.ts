import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeProtectedHeader, errors } from 'jose';
import { generatedKeyEnv, startAssertions, type Assertions } from '../../src/assertion/index.js';
import { AssertionKeys, defaultSkewSeconds, type KeyLog } from '../../src/assertion/key-files.js';
import { signingKeyFromPem } from '../../src/assertion/signing-key.js';
import { ErrorCode } from '../../src/errors.js';
import { waitFor } from '../support/server-process.js';
import { allow, Clock, issuer, JwksServer, privatePem, publicPem, tempDir } from './support.js';

const ttlSeconds = 10;
const skewSeconds = 5;
const pollIntervalMs = 20;

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown>;
}

let dir: string;
let removeDir: () => Promise<void>;
let clock: Clock;
let logs: LogLine[];
const log: KeyLog = (level, message, meta) => logs.push({ level, message, meta });
const running: { close(): void }[] = [];
const servers: JwksServer[] = [];

beforeEach(async () => {
  ({ dir, remove: removeDir } = await tempDir());
  clock = new Clock();
  logs = [];
});

afterEach(async () => {
  for (const item of running.splice(0)) item.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await removeDir();
});

const config = (overrides: { keyFile?: string; publishKeyFiles?: string[]; services?: string[] } = {}) => ({
  enabled: true,
  issuer,
  ttlSeconds,
  keyFile: overrides.keyFile ?? '',
  publishKeyFiles: overrides.publishKeyFiles ?? [],
  services: overrides.services ?? [],
});

async function start(overrides: Parameters<typeof config>[0] = {}): Promise<{ assertions: Assertions; server: JwksServer }> {
  const assertions = await startAssertions(config(overrides), { log, now: clock.now, pollIntervalMs });
  if (!assertions) throw new Error('assertions are enabled');
  running.push(assertions);
  const server = await JwksServer.start(assertions.routes);
  servers.push(server);
  return { assertions, server };
}

async function mint(assertions: Assertions, decisionId = 'D1'): Promise<string> {
  const token = await assertions.minter.mint(allow(), decisionId, clock.seconds);
  if (token === undefined) throw new Error('no assertion minted');
  return token;
}

async function kidOf(pem: string): Promise<string> {
  return (await signingKeyFromPem(pem, 'test')).kid;
}

const waitForSigningKid = (assertions: Assertions, kid: string) =>
  waitFor(`signing kid ${kid}`, () => (assertions.keys.ring.signing.kid === kid ? true : undefined), 5000, 10);

test('disabled: nothing is started', async () => {
  await expect(startAssertions({ ...config(), enabled: false })).resolves.toBeUndefined();
});

test('rotation with overlap: the new key signs at once, the old key is served until its assertions expire', async () => {
  const keyFile = join(dir, 'signing.pem');
  const oldPem = privatePem();
  const newPem = privatePem();
  await writeFile(keyFile, oldPem);
  const { assertions, server } = await start({ keyFile });
  const oldKid = await kidOf(oldPem);
  const newKid = await kidOf(newPem);

  const oldToken = await mint(assertions, 'D-old');
  expect(decodeProtectedHeader(oldToken).kid).toBe(oldKid);
  const mintedAt = new Date(clock.ms);

  clock.advance(2);
  const rotatedAt = clock.ms;
  await writeFile(keyFile, newPem);
  await waitForSigningKid(assertions, newKid);
  expect(logs).toContainEqual({ level: 'info', message: 'assertion signing key rotated', meta: { file: keyFile, kid: newKid, previousKid: oldKid } });

  // The cache is keyed by signing key: the next request already carries the new kid.
  const newToken = await mint(assertions, 'D-new');
  expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
  expect(await server.kids()).toEqual([newKid, oldKid]);
  await expect(server.verify(oldToken, 'orders.shop', clock)).resolves.toMatchObject({ payload: { decision_id: 'D-old' } });
  await expect(server.verify(newToken, 'orders.shop', clock)).resolves.toMatchObject({ payload: { decision_id: 'D-new' } });

  // Replicas sharing the file may sign with the old key until they see the change too, so it is
  // served until rotation + ttl + skew, which here is later than its last assertion's exp + skew.
  clock.ms = rotatedAt + (ttlSeconds + defaultSkewSeconds) * 1000 - 1000;
  expect(await server.kids()).toEqual([newKid, oldKid]);
  clock.advance(1);
  expect(await server.kids()).toEqual([newKid]);
  await expect(server.verify(oldToken, 'orders.shop', mintedAt)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
});

test('a rotation is picked up by polling, and a custom skew is honoured', async () => {
  const keyFile = join(dir, 'signing.pem');
  const oldPem = privatePem();
  await writeFile(keyFile, oldPem);
  const keys = await AssertionKeys.load({ keyFile, publishKeyFiles: [], ttlSeconds, skewSeconds, pollIntervalMs, now: clock.now, log });
  running.push(keys);
  keys.start();
  const newPem = privatePem('Ed25519');
  await writeFile(keyFile, newPem);
  await waitFor('the new key', () => (keys.ring.signing.alg === 'EdDSA' ? true : undefined), 5000, 10);
  expect(keys.keySet().keys.map((key) => key.kid)).toEqual([await kidOf(newPem), await kidOf(oldPem)]);
  clock.advance(ttlSeconds + skewSeconds);
  expect(keys.keySet().keys.map((key) => key.kid)).toEqual([await kidOf(newPem)]);
});

describe('a key file that stops being good keeps the last good key signing', () => {
  const cases: { name: string; spoil: (file: string) => Promise<void>; error: RegExp }[] = [
    { name: 'not a key', spoil: (file) => writeFile(file, 'not a key\n'), error: /not a PEM private key/ },
    { name: 'empty', spoil: (file) => writeFile(file, ''), error: /missing or empty/ },
    { name: 'removed', spoil: (file) => rm(file), error: /missing or empty/ },
    { name: 'a public key', spoil: (file) => writeFile(file, publicPem(privatePem())), error: /not a PEM private key/ },
  ];
  test.each(cases)('$name', async ({ spoil, error }) => {
    const keyFile = join(dir, 'signing.pem');
    const good = privatePem();
    await writeFile(keyFile, good);
    const { assertions, server } = await start({ keyFile });
    await spoil(keyFile);
    await assertions.keys.reload();
    await assertions.keys.reload();
    expect(assertions.keys.ring.signing.kid).toBe(await kidOf(good));
    const warnings = logs.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ message: 'assertion key file not loaded; the last good key keeps signing', meta: { file: keyFile, error: expect.stringMatching(error) } });
    await expect(server.verify(await mint(assertions), 'orders.shop', clock)).resolves.toBeDefined();

    // Fixed again: signs with what the file now holds.
    const next = privatePem();
    await writeFile(keyFile, next);
    await assertions.keys.reload();
    expect(assertions.keys.ring.signing.kid).toBe(await kidOf(next));
  });
});

test('publishKeyFiles: a pre-published key is served before it signs; an absent file serves nothing', async () => {
  const keyFile = join(dir, 'signing.pem');
  const nextFile = join(dir, 'next.pem');
  const currentPem = privatePem();
  const nextPem = privatePem('RSA-2048');
  await writeFile(keyFile, currentPem);
  const { assertions, server } = await start({ keyFile, publishKeyFiles: [nextFile] });
  const currentKid = await kidOf(currentPem);
  const nextKid = await kidOf(nextPem);
  expect(await server.kids()).toEqual([currentKid]);

  await writeFile(nextFile, nextPem);
  await waitFor('the next key to be served', async () => ((await server.kids()).includes(nextKid) ? true : undefined), 5000, 10);
  expect(await server.kids()).toEqual([currentKid, nextKid]);
  expect(assertions.keys.ring.signing.kid).toBe(currentKid);
  expect(logs).toContainEqual({ level: 'info', message: 'assertion key published', meta: { file: nextFile, kid: nextKid } });

  // The rotation a Secret update makes: next becomes the signing key, the old one is kept published.
  await writeFile(keyFile, nextPem);
  await writeFile(nextFile, publicPem(currentPem));
  await waitForSigningKid(assertions, nextKid);
  await waitFor('the old key to be published', async () => ((await server.kids()).length === 2 ? true : undefined), 5000, 10);
  expect(await server.kids()).toEqual([nextKid, currentKid]);
  expect(decodeProtectedHeader(await mint(assertions)).alg).toBe('RS256');

  // Long after, and with the file emptied, only the signing key remains.
  clock.advance(3600);
  await writeFile(nextFile, '');
  await waitFor('the published key to go', async () => ((await server.kids()).length === 1 ? true : undefined), 5000, 10);
  expect(await server.kids()).toEqual([nextKid]);
  expect(logs).toContainEqual({ level: 'info', message: 'assertion key no longer published', meta: { file: nextFile, kid: currentKid } });
});

test('generated key when keyFile is empty: verifiable through the served set, with a single-replica warning', async () => {
  const { assertions, server } = await start();
  const token = await mint(assertions);
  await expect(server.verify(token, 'orders.shop', clock)).resolves.toMatchObject({ protectedHeader: { alg: 'ES256', kid: assertions.keys.ring.signing.kid } });
  const kid = assertions.keys.ring.signing.kid;
  expect(logs).toEqual([
    { level: 'warn', message: expect.stringContaining('key generated at start'), meta: { kid } },
    { level: 'info', message: 'assertion keys loaded', meta: { kid, alg: 'ES256', published: [] } },
  ]);
});

test('cluster: workers sign with the key their primary generated, verifiable through the primary\'s key set', async () => {
  const { assertions: primary, server } = await start();
  const env = primary.workerEnv();
  expect(Object.keys(env)).toEqual([generatedKeyEnv]);
  const worker = await startAssertions(config(), { log, now: clock.now, generatedKeyPem: env[generatedKeyEnv] });
  if (!worker) throw new Error('assertions are enabled');
  running.push(worker);
  expect(worker.keys.ring.signing.kid).toBe(primary.keys.ring.signing.kid);
  await expect(server.verify(await mint(worker), 'orders.shop', clock)).resolves.toBeDefined();
  // Only the primary generated, and said so.
  expect(logs.filter((line) => line.level === 'warn')).toHaveLength(1);
});

test('cluster: with a key file, workers read the file themselves', async () => {
  const keyFile = join(dir, 'signing.pem');
  await writeFile(keyFile, privatePem());
  const { assertions } = await start({ keyFile });
  expect(assertions.workerEnv()).toEqual({});
});

describe('start refuses what cannot work, naming the key', () => {
  const cases: { name: string; setup: () => Promise<Parameters<typeof config>[0]>; message: RegExp }[] = [
    { name: 'missing keyFile', setup: async () => ({ keyFile: join(dir, 'absent.pem') }), message: /^response\.assertion\.keyFile: .*absent\.pem is missing or empty$/ },
    {
      name: 'empty keyFile',
      setup: async () => {
        await writeFile(join(dir, 'empty.pem'), '\n');
        return { keyFile: join(dir, 'empty.pem') };
      },
      message: /^response\.assertion\.keyFile: .*empty\.pem is missing or empty$/,
    },
    {
      name: 'keyFile not a key',
      setup: async () => {
        await writeFile(join(dir, 'bad.pem'), 'hello');
        return { keyFile: join(dir, 'bad.pem') };
      },
      message: /^response\.assertion: .*bad\.pem: not a PEM private key/,
    },
    {
      name: 'keyFile a directory',
      setup: async () => ({ keyFile: dir }),
      message: /^response\.assertion\.keyFile: .* cannot be read: EISDIR/,
    },
    {
      name: 'publishKeyFiles entry not a key',
      setup: async () => {
        await writeFile(join(dir, 'next.pem'), 'hello');
        return { publishKeyFiles: [join(dir, 'next.pem')] };
      },
      message: /^response\.assertion: .*next\.pem: not a PEM public or private key/,
    },
  ];
  test.each(cases)('$name', async ({ setup, message }) => {
    const failure = startAssertions(config(await setup()), { log, now: clock.now });
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.config, message: expect.stringMatching(message) });
  });

  test('an unreadable keyFile', async () => {
    if (process.getuid?.() === 0) return; // root reads any file
    const keyFile = join(dir, 'locked.pem');
    await writeFile(keyFile, privatePem());
    await chmod(keyFile, 0o000);
    await expect(startAssertions(config({ keyFile }))).rejects.toMatchObject({ code: ErrorCode.config, message: expect.stringMatching(/cannot be read: EACCES/) });
  });
});
