import * as grpc from '@grpc/grpc-js';
import { format } from 'node:util';
import { ReflectionService } from '@grpc/reflection';
import { errorMessage } from '../errors.js';
import { opsLog } from '../log/ops-log.js';
import type { CheckRequestMessage } from '../core/decode.js';
import type { CheckResponseMessage } from '../core/respond.js';
import { whenChecked, type CheckPipeline } from '../pipeline/check-pipeline.js';
import { listenFailure } from './listen-failure.js';
import { authorizationServerService, healthService, packageDefinition } from '../wire/protos.js';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const authorizationName = 'envoy.service.auth.v3.Authorization';

export interface GrpcServerOptions {
  readonly maxMessageBytes: number;
  readonly reflection: boolean;
}

/** grpc.health.v1 state: SERVING only while a policy set is loaded and we are not draining. */
export class HealthState {
  private serving = false;
  private readonly watchers = new Set<grpc.ServerWritableStream<{ service?: string }, { status: ServingStatus }>>();

  set(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    for (const call of this.watchers) call.write({ status: this.statusOf(call.request.service ?? '') });
  }

  get isServing(): boolean {
    return this.serving;
  }

  statusOf(service: string): ServingStatus {
    if (service !== '' && service !== authorizationName) return 'SERVICE_UNKNOWN';
    return this.serving ? 'SERVING' : 'NOT_SERVING';
  }

  watch(call: grpc.ServerWritableStream<{ service?: string }, { status: ServingStatus }>): void {
    this.watchers.add(call);
    call.write({ status: this.statusOf(call.request.service ?? '') });
    call.on('cancelled', () => this.watchers.delete(call));
    call.on('close', () => this.watchers.delete(call));
  }

  endWatches(): void {
    for (const call of this.watchers) call.end();
    this.watchers.clear();
  }
}

/**
 * grpc-js writes its own errors to stderr as bare `E …` lines (a failed bind says "No address
 * added" before the bind's error reaches us); as ops-log lines they stay machine-readable and
 * leave the one plain line on stderr to the error gatehouse reports.
 */
grpc.setLogger({
  error: (message?: unknown, ...rest: unknown[]) => opsLog.warn('grpc-js', { detail: format(message, ...rest) }),
  info: (message?: unknown, ...rest: unknown[]) => opsLog.info('grpc-js', { detail: format(message, ...rest) }),
  debug: (message?: unknown, ...rest: unknown[]) => opsLog.debug('grpc-js', { detail: format(message, ...rest) }),
});

export function createGrpcServer(pipeline: CheckPipeline, health: HealthState, options: GrpcServerOptions): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    // Channelz counts and timestamps every call and message for a channelz service gatehouse
    // does not serve; off, grpc-js skips that work per call.
    'grpc.enable_channelz': 0,
  });
  server.addService(authorizationServerService, {
    Check: (call: grpc.ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>, callback: grpc.sendUnaryData<CheckResponseMessage>) => {
      whenChecked(
        () => pipeline.run(call.request),
        (outcome) => callback(null, outcome.response),
        (err: unknown) => callback({ code: grpc.status.INTERNAL, details: errorMessage(err) }),
      );
    },
  });
  server.addService(healthService, {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, { status: ServingStatus }>, callback: grpc.sendUnaryData<{ status: ServingStatus }>) => {
      const status = health.statusOf(call.request.service ?? '');
      if (status === 'SERVICE_UNKNOWN') callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else callback(null, { status });
    },
    Watch: (call: grpc.ServerWritableStream<{ service?: string }, { status: ServingStatus }>) => health.watch(call),
  });
  if (options.reflection) new ReflectionService(packageDefinition).addToServer(server);
  return server;
}

export function bindGrpc(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(listenFailure(address, '--listen / listen', err)) : resolve(port)));
  });
}
