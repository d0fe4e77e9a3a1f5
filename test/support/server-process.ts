/**
 * The real `gatehouse` process for end-to-end tests: started from dist/ with ephemeral loopback
 * ports, its decision log (stdout) and operational log (stderr) collected line by line, and
 * every wait bounded so that a misbehaving server fails a test instead of hanging the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walks up because this file runs from test/support under ts-jest. */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'policies'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no gatehouse project root above ${start}`);
  }
}

export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
export const mainScript = join(projectRoot, 'dist', 'src', 'main.js');
export const examplePolicyDir = join(projectRoot, 'policies');
export const vectorDir = join(projectRoot, 'test', 'fixtures', 'ext_authz');

/** A JSON line of the decision log (docs/reference.md, "Decision log"), plus gatehouse's extra fields. */
export interface DecisionLine {
  readonly time: string;
  readonly decisionId: string;
  readonly requestId: string;
  readonly principal: string;
  readonly authn: string;
  readonly action: string;
  readonly resource: string;
  readonly path: string;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly policies: readonly string[];
  readonly errors: readonly { policy: string; message: string }[];
  readonly mode: string;
  readonly durationMs: number;
  readonly reason: string;
  readonly detail: string;
  readonly [field: string]: unknown;
}

export interface StartOptions {
  /** Extra `serve` flags; `--listen` and `--http-listen` default to 127.0.0.1:0 unless given here. */
  readonly args?: readonly string[];
  /** Written to a temporary YAML file and passed as `--config`. */
  readonly configYaml?: string;
  /** Passed as `--policies` unless `args` or the config says otherwise. */
  readonly policies?: string;
  /**
   * `--workers N`, unless `args` or the config say otherwise. Defaults to 1, the single-process
   * path, whatever the machine's core count; 2 or more runs a primary with workers; 'planned'
   * gives no flag, so serve plans the count from the CPU and the memory budget.
   */
  readonly workers?: number | 'planned';
  /** How long to wait for the "gatehouse serving" line. */
  readonly readyTimeoutMs?: number;
  /** More environment variables for the server (NODE_OPTIONS, say). */
  readonly env?: Readonly<Record<string, string>>;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const running = new Set<ServerProcess>();
const scratchDirs = new Set<string>();

/** A temporary directory removed by `cleanup()`. */
export async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `gatehouse-e2e-${prefix}-`));
  scratchDirs.add(dir);
  return dir;
}

/** A temporary copy of the shipped example policies, for tests that edit them. */
export async function copyExamplePolicies(): Promise<string> {
  const dir = await scratchDir('policies');
  await cp(examplePolicyDir, dir, { recursive: true });
  return dir;
}

/** Kills every server still running and removes scratch directories; call it in afterAll. */
export async function cleanup(): Promise<void> {
  await Promise.all([...running].map((server) => server.kill()));
  await Promise.all([...scratchDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  scratchDirs.clear();
}

/** Splits a stream into lines, calling `onLine` for each complete one. */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffered !== '') onLine(buffered);
    buffered = '';
  });
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export class ServerProcess {
  /** Every stdout line that parsed as a JSON object: the decision log. */
  readonly decisions: DecisionLine[] = [];
  /** Every stdout line that did not parse: there should be none. */
  readonly strayStdout: string[] = [];
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  grpcPort = 0;
  httpPort = 0;
  /** The HTTP authorization port, 0 unless `httpAuthz.enabled`. */
  httpAuthzPort = 0;
  private exit: Exit | undefined;
  private readonly exited: Promise<Exit>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        // 'exit' can come before the pipes drain; 'close' follows once they have.
        child.once('close', () => {
          this.exit = { code, signal };
          running.delete(this);
          resolve(this.exit);
        });
      });
    });
    lines(child.stdout!, (line) => {
      this.stdoutLines.push(line);
      const parsed = parseJson(line);
      if (parsed) this.decisions.push(parsed as DecisionLine);
      else if (line.trim() !== '') this.strayStdout.push(line);
    });
    lines(child.stderr!, (line) => this.stderrLines.push(line));
    running.add(this);
  }

  get grpcTarget(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get httpAuthzUrl(): string {
    return `http://127.0.0.1:${this.httpAuthzPort}`;
  }

  get stderr(): string {
    return this.stderrLines.join('\n');
  }

  get exitInfo(): Exit | undefined {
    return this.exit;
  }

  /** stderr lines that parsed as JSON (winston's operational log). */
  opsLog(): Record<string, unknown>[] {
    return this.stderrLines.map(parseJson).filter((v): v is Record<string, unknown> => v !== undefined);
  }

  /** Waits for the "gatehouse serving" line and reads the bound ports from it. */
  async ready(timeoutMs: number): Promise<void> {
    const line = await waitFor(
      'the "gatehouse serving" line',
      () => {
        if (this.exit) throw new Error(`gatehouse exited (${this.exit.code ?? this.exit.signal}) before serving:\n${this.stderr}`);
        return this.opsLog().find((entry) => entry.message === 'gatehouse serving');
      },
      timeoutMs,
    );
    const port = (hostPort: unknown): number => {
      const match = typeof hostPort === 'string' ? /:(\d+)$/.exec(hostPort) : null;
      if (!match) throw new Error(`cannot read a port from ${JSON.stringify(hostPort)}`);
      return Number(match[1]);
    };
    this.grpcPort = port(line.grpc);
    this.httpPort = port(line.http);
    if (line.httpAuthz !== undefined) this.httpAuthzPort = port(line.httpAuthz);
  }

  /** Waits until at least `count` decision lines have been written. */
  async waitForDecisions(count: number, timeoutMs = 5000): Promise<DecisionLine[]> {
    await waitFor(`${count} decision log lines (have ${this.decisions.length})`, () => (this.decisions.length >= count ? true : undefined), timeoutMs);
    return this.decisions;
  }

  /** The decision line with this decision id, waiting for it to be written. */
  async decision(decisionId: string, timeoutMs = 5000): Promise<DecisionLine> {
    return waitFor(`the decision line of ${decisionId}`, () => this.decisions.find((line) => line.decisionId === decisionId), timeoutMs);
  }

  /** Sends `signal` and resolves with the exit code; SIGKILLs and throws after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15000): Promise<number | null> {
    if (!this.exit) this.child.kill(signal);
    const exit = await this.waitForExit(timeoutMs);
    if (exit === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`gatehouse did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return exit.code;
  }

  /** Resolves with the exit, or undefined when the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<Exit | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL, for cleanup: never throws, never waits long. */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await this.waitForExit(5000);
  }
}

function spawnGatehouse(args: readonly string[], env: Readonly<Record<string, string>> = {}): ChildProcess {
  return spawn(process.execPath, [mainScript, ...args], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', ...env },
  });
}

async function serveArgs(options: StartOptions): Promise<string[]> {
  const args = [...(options.args ?? [])];
  if (options.configYaml !== undefined) args.push('--config', await configFile(options.configYaml));
  // The config file may name its own addresses; only without one do we pick ephemeral ports.
  const fromFile = (key: string): boolean => options.configYaml !== undefined && new RegExp(`^${key}:`, 'm').test(options.configYaml);
  if (!args.includes('--listen') && !fromFile('listen')) args.push('--listen', '127.0.0.1:0');
  if (!args.includes('--http-listen') && !fromFile('httpListen')) args.push('--http-listen', '127.0.0.1:0');
  if (options.policies !== undefined && !args.includes('--policies')) args.push('--policies', options.policies);
  // One process unless a test asks for workers: most tests count per-process metrics.
  if (!args.includes('--workers') && !fromFile('workers') && options.workers !== 'planned') args.push('--workers', String(options.workers ?? 1));
  return ['serve', ...args];
}

/** Starts `gatehouse serve` and waits until it is serving. */
export async function startGatehouse(options: StartOptions = {}): Promise<ServerProcess> {
  const server = new ServerProcess(spawnGatehouse(await serveArgs(options), options.env));
  try {
    await server.ready(options.readyTimeoutMs ?? 10000);
  } catch (err) {
    await server.kill();
    throw err;
  }
  return server;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** It was still running after the timeout and was killed. */
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a gatehouse command expected to exit by itself (a refused config, `--help`), killing it
 * after `timeoutMs`. A server that unexpectedly starts is killed too, and its run reported.
 */
export async function runGatehouse(args: readonly string[], timeoutMs = 10000): Promise<RunResult> {
  const server = new ServerProcess(spawnGatehouse(args));
  const exited = await server.waitForExit(timeoutMs);
  if (exited === undefined) await server.kill();
  const exit = exited ?? server.exitInfo;
  return { code: exit?.code ?? null, signal: exit?.signal ?? null, timedOut: exited === undefined, stdout: server.stdoutLines.join('\n'), stderr: server.stderr };
}

/** A config file with the given YAML in a scratch directory; returns its path. */
export async function configFile(yaml: string): Promise<string> {
  const file = join(await scratchDir('config'), 'gatehouse.yaml');
  await writeFile(file, yaml);
  return file;
}

/** GET on the server's HTTP port, bounded in time. */
export async function httpGet(server: ServerProcess, path: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const response = await fetch(`${server.httpUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}
