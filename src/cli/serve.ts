import cluster from 'node:cluster';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import { opsLog } from '../log/ops-log.js';
import { readContainerLimits } from '../serve/container-limits.js';
import { flagsToAdd, heapFlags, restartWith } from '../serve/heap-flags.js';
import { followHeapGrowth } from '../serve/heap-growth.js';
import { deciderBudgetMiB, planProcesses, type ProcessPlan } from '../serve/process-plan.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse serve [--config FILE] [--policies DIR] [--listen HOST:PORT] [--http-listen HOST:PORT] [--workers N]
  runs the Envoy ext_authz v3 gRPC server (default 0.0.0.0:9191) and the health, readiness
  and metrics HTTP server (default 0.0.0.0:9192); flags override the config file.
  --workers N  processes sharing the gRPC port (default: as many as the CPU limit and the
               memory budget allow; see memoryBudgetMiB)`;

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
  await requireDirectory(config.policies, values.policies === undefined ? 'policies' : '--policies');

  // The servers' modules (gRPC, Cedar, Kubernetes) load only after the plan: a process that starts
  // again with the heap flags has not paid for them twice.
  if (cluster.isWorker) {
    const [{ startServer }, { primarySink, tellPrimary }] = await Promise.all([import('../server.js'), import('../cluster-primary.js')]);
    try {
      const server = await startServer(config, {
        kind: 'worker',
        sink: primarySink(),
        onReadiness: (report) => tellPrimary({ t: 'ready', report }),
      });
      tellPrimary({ t: 'serving', grpcPort: server.grpcPort, httpAuthzPort: server.httpAuthzPort });
      const growth = followHeapGrowth(deciderBudgetMiB(plan(config)), process.execArgv);
      await server.stopped;
      growth?.stop();
      return { code: 0 };
    } finally {
      // The IPC channel would keep a finished (or failed) worker alive.
      cluster.worker?.disconnect();
    }
  }
  const sized = sizeProcesses(config);
  if (sized.workers > 1) {
    const { runPrimary } = await import('../cluster-primary.js');
    await runPrimary(config, sized.workers);
    return { code: 0 };
  }
  const { startServer } = await import('../server.js');
  const server = await startServer(config);
  const growth = followHeapGrowth(deciderBudgetMiB(sized), process.execArgv);
  await server.stopped;
  growth?.stop();
  return { code: 0 };
}

function plan(config: Config): ProcessPlan {
  return planProcesses({ cores: availableParallelism(), limits: readContainerLimits(), workers: config.workers, memoryBudgetMiB: config.memoryBudgetMiB });
}

/**
 * The worker count and V8's heap limits for the memory budget. V8 reads its flags only at start,
 * so a process without them starts again with them (workers inherit them from the primary); flags
 * the operator gave in NODE_OPTIONS or on node's command line stand.
 */
function sizeProcesses(config: Config): ProcessPlan {
  const planned = plan(config);
  const missing = flagsToAdd(heapFlags(planned), process.execArgv, process.env.NODE_OPTIONS);
  const unapplied = missing.length > 0 ? restartWith(missing) : undefined;
  if (unapplied !== undefined) opsLog.warn('V8 heap flags not applied; memory may exceed the budget', { flags: missing, reason: unapplied });
  opsLog.info('process plan', { ...planned, v8Flags: [...process.execArgv] });
  return planned;
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
