import cluster from 'node:cluster';
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { primarySink, runPrimary, tellPrimary } from '../cluster-primary.js';
import { defaultWorkers, loadConfig } from '../config.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import { startServer } from '../server.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse serve [--config FILE] [--policies DIR] [--listen HOST:PORT] [--http-listen HOST:PORT] [--workers N]
  runs the Envoy ext_authz v3 gRPC server (default 0.0.0.0:9191) and the health, readiness
  and metrics HTTP server (default 0.0.0.0:9192); flags override the config file.
  --workers N  processes sharing the gRPC port (default: the cores this container may use)`;

export async function serve(argv: string[]): Promise<CommandResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      policies: { type: 'string' },
      listen: { type: 'string' },
      'http-listen': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  const workersFlag = values.workers === undefined ? undefined : Number(values.workers);
  const config = loadConfig(values.config, { policies: values.policies, listen: values.listen, httpListen: values['http-listen'], workers: workersFlag });
  const workers = config.workers ?? defaultWorkers();
  await requireDirectory(config.policies, values.policies === undefined ? 'policies' : '--policies');

  if (cluster.isWorker) {
    try {
      const server = await startServer(config, {
        kind: 'worker',
        sink: primarySink(),
        onReadiness: (report) => tellPrimary({ t: 'ready', report }),
      });
      tellPrimary({ t: 'serving', grpcPort: server.grpcPort, httpAuthzPort: server.httpAuthzPort });
      await server.stopped;
      return { code: 0 };
    } finally {
      // The IPC channel would keep a finished (or failed) worker alive.
      cluster.worker?.disconnect();
    }
  }
  if (workers > 1) {
    await runPrimary(config, workers);
    return { code: 0 };
  }
  const server = await startServer(config);
  await server.stopped;
  return { code: 0 };
}

/**
 * A policy directory missing at start is a typo, not a deploy in progress: the server would run
 * answering UNAVAILABLE to every Check. Once running, a directory that goes away is a reload
 * fault instead (the last good set stays in use; see PolicyStore).
 */
async function requireDirectory(dir: string, setting: string): Promise<void> {
  const found = await stat(dir).catch((err: unknown) => err as NodeJS.ErrnoException);
  if (found instanceof Error) throw new GatehouseError(ErrorCode.config, `${setting} ${dir}: ${found.code === 'ENOENT' ? 'no such directory' : found.message}`);
  if (!found.isDirectory()) throw new GatehouseError(ErrorCode.config, `${setting} ${dir}: not a directory`);
}
