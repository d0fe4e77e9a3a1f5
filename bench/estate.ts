/**
 * Benchmark inputs: a policy directory of a chosen size (the shipped examples plus filler
 * policies for other teams, which Cedar must still evaluate), and pre-encoded CheckRequests.
 */
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCheckRequest } from '../src/wire/protos.js';

export const frontend = 'spiffe://cluster.local/ns/shop/sa/frontend';

/** One namespace-wide permit: any workload of shop may read shop's APIs, so every workload of it is allowed. */
export const shopWide = '@id("shop-reads-shop")\npermit (principal is Workload in Namespace::"shop", action in Action::"read", resource in Namespace::"shop")\nwhen { context.path like "/api/*" };\n';

/**
 * The same grant, but reading each workload's service account: no two workloads can share a
 * decision (src/policy/shared-decisions.ts), so every new workload is a call into Cedar.
 */
export const shopOwn =
  '@id("shop-workloads-read-shop")\npermit (principal is Workload in Namespace::"shop", action in Action::"read", resource in Namespace::"shop")\nwhen { principal has serviceAccount && principal.serviceAccount like "workload-*" && context.path like "/api/*" };\n';

/** The i-th of many workloads of the shop namespace: traffic where every request misses the decision cache. */
export function shopWorkload(i: number): string {
  return `spiffe://cluster.local/ns/shop/sa/workload-${i}`;
}

export function policyDir(examples: string, total: number, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${total}-`));
  const examplePolicies = 15;
  for (const name of readdirSync(examples)) {
    if (!name.endsWith('.cedar') && !name.endsWith('.cedarschema')) continue;
    copyFileSync(join(examples, name), join(dir, name));
  }
  const filler: string[] = [];
  for (let i = 0; examplePolicies + i < total; i++) {
    filler.push(
      `@id("team${i}-reads-api")\npermit (\n  principal == Workload::"spiffe://cluster.local/ns/team${i}/sa/client${i}",\n  action in Action::"read",\n  resource == Service::"api${i}.team${i}"\n) when { context.path like "/api/*" };\n`,
    );
  }
  writeFileSync(join(dir, 'filler.cedar'), [...filler, extra].join('\n'));
  return dir;
}

export interface RequestShape {
  readonly principal?: string;
  readonly token?: string;
  readonly method?: string;
  readonly path: string;
  readonly requestId?: string;
  /** More request headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One gRPC-framed CheckRequest (5-byte length prefix, as on the wire). */
export function framed(shape: RequestShape): Buffer {
  const host = 'orders.shop.svc.cluster.local:8080';
  const method = shape.method ?? 'GET';
  const headers: Record<string, string> = {
    ':authority': host,
    ':method': method,
    ':path': shape.path,
    'x-request-id': shape.requestId ?? '4f1c2a9e-7c55-4a3e-9a7c-3f2d1e0b9a11',
    'user-agent': 'bench',
    ...shape.headers,
  };
  if (shape.token) headers.authorization = `Bearer ${shape.token}`;
  const message = encodeCheckRequest({
    attributes: {
      source: { principal: shape.principal ?? '', address: { socket_address: { address: '10.1.2.3', port_value: 40000 } } },
      request: { http: { id: '1', method, path: shape.path, host, scheme: 'http', protocol: 'HTTP/1.1', headers } },
      context_extensions: { service: 'orders.shop' },
    },
  });
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(out, 5);
  return out;
}

export function writeBodies(file: string, shapes: readonly RequestShape[]): string {
  writeFileSync(file, Buffer.concat(shapes.map(framed)));
  return file;
}
