/** Identities and requests for policy tests, built the way the server builds them. */
import { readFileSync } from 'node:fs';
import type { Identity, WorkloadClass } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import type { CedarRequest } from '../../src/core/cedar-request.js';
import { buildCedarRequest } from '../../src/policy/entities.js';
import { parsedSubject } from '../support/subject.js';
import { spiffeId } from '../support/expect-ok.js';

export const examplePolicyDir = new URL('../../policies/', import.meta.url).pathname;
export const exampleSchema = readFileSync(`${examplePolicyDir}schema.cedarschema`, 'utf8');

export function workload(id: string, workloadClass: WorkloadClass = 'service'): Identity {
  return { kind: 'workload', spiffeId: spiffeId(id), class: workloadClass, authn: 'mtls' };
}

export function user(subject: string, groups: string[]): Identity {
  return { kind: 'user', issuer: 'https://login.example.com', subject, name: subject, groups };
}

export const anonymous: Identity = { kind: 'anonymous' };

export interface RequestShape {
  readonly method: string;
  /** The destination service, as context_extensions["service"] names it. */
  readonly service: string;
  readonly path: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly sourceIp?: string;
}

export function cedarRequest(identity: Identity, shape: RequestShape): CedarRequest {
  const facts: RequestFacts = {
    requestId: '',
    streamId: '',
    method: shape.method,
    rawPath: shape.path,
    host: shape.service,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    headers: new Map(Object.entries(shape.headers ?? {})),
    repeatedHeaders: new Set(),
    source: { address: shape.sourceIp ?? '10.1.2.3', port: 40000, principal: '', certificate: '' },
    destination: { address: '', port: 0, principal: '', certificate: '' },
    contextExtensions: new Map([['service', shape.service]]),
    sni: '',
    problems: [],
  };
  return buildCedarRequest(identity, parsedSubject(facts, { path: shape.path, query: shape.query ?? '' }), facts);
}
