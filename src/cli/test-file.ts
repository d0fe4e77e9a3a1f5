import { isIP } from 'node:net';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { workloadClasses } from '../core/identity.js';
import { SpiffeId } from '../core/spiffe-id.js';

/**
 * A policy test file (`gatehouse test`): YAML with a list of cases, each naming a caller, a
 * request and the decision expected. Read all-or-nothing: a file with any malformed case runs
 * none, and every problem is reported with its FILE:LINE:COL and case.
 */

export type Caller =
  | { readonly kind: 'spiffe'; readonly id: string }
  | { readonly kind: 'serviceAccount'; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: 'user'; readonly subject: string; readonly issuer: string | undefined; readonly groups: readonly string[] }
  | { readonly kind: 'anonymous' };

export interface TestCase {
  readonly name: string;
  readonly caller: Caller;
  readonly class: (typeof workloadClasses)[number] | undefined;
  /** The workload acting for the caller (its SPIFFE ID), and its class when the case states one. */
  readonly actor: { readonly id: string; readonly class: (typeof workloadClasses)[number] | undefined } | undefined;
  /** Earlier actors of the `act` chain, after the current one. */
  readonly act: readonly string[];
  readonly method: string;
  /** The request target: path, and query when given. */
  readonly path: string;
  readonly host: string | undefined;
  readonly service: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly sourceIp: string | undefined;
  readonly expect: 'allow' | 'deny';
  /** The determining policy ids expected, as a set; undefined when the case does not say. */
  readonly policies: readonly string[] | undefined;
  /** `FILE:LINE:COL` of a key of this case (of the case itself without one), for messages. */
  readonly where: (...path: (string | number)[]) => string;
}

export type TestFile = { readonly ok: true; readonly cases: readonly TestCase[] } | { readonly ok: false; readonly problems: readonly string[] };

const callerKeys = ['spiffe', 'serviceAccount', 'user', 'anonymous'] as const;

const caseSchema = z
  .strictObject({
    name: z.string().min(1),
    spiffe: z.string().superRefine(spiffeProblem).optional(),
    serviceAccount: z.string().superRefine(serviceAccountProblem).optional(),
    user: z
      .strictObject({
        subject: z.string().min(1),
        issuer: z.string().min(1).optional(),
        groups: z.array(z.string().min(1)).default([]),
      })
      .optional(),
    anonymous: z.literal(true).optional(),
    class: z.enum(workloadClasses).optional(),
    actor: z.string().superRefine(spiffeProblem).optional(),
    actorClass: z.enum(workloadClasses).optional(),
    act: z.array(z.string().min(1)).default([]),
    method: z.string().regex(/^[A-Za-z]+$/, 'expected an HTTP method such as GET').default('GET'),
    path: z.string().startsWith('/').default('/'),
    host: z.string().min(1).optional(),
    service: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    sourceIp: z
      .string()
      .refine((ip) => isIP(ip) !== 0, 'expected an IPv4 or IPv6 address')
      .optional(),
    expect: z.enum(['allow', 'deny']),
    policies: z.array(z.string().min(1)).optional(),
  })
  .superRefine((value, ctx) => {
    const callers = callerKeys.filter((key) => value[key] !== undefined);
    if (callers.length !== 1) {
      const found = callers.length === 0 ? 'none' : callers.join(', ');
      ctx.addIssue({ code: 'custom', message: `name exactly one caller: spiffe, serviceAccount, user or anonymous: true (found ${found})` });
    }
    if (value.class !== undefined && value.spiffe === undefined && value.serviceAccount === undefined) {
      ctx.addIssue({ code: 'custom', path: ['class'], message: 'class applies only to a workload (spiffe or serviceAccount)' });
    }
    if ((value.actorClass !== undefined || value.act.length > 0) && value.actor === undefined) {
      ctx.addIssue({ code: 'custom', path: ['actor'], message: 'actorClass and act need an actor' });
    }
    if (value.actor !== undefined && value.anonymous !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['actor'], message: 'nobody acts for an anonymous caller' });
    }
    if (value.host === undefined && value.service === undefined) {
      ctx.addIssue({ code: 'custom', message: 'name the destination with host or service' });
    }
  });

// A caller that cannot exist would make a case pass or fail for the wrong reason.
function spiffeProblem(id: string, ctx: z.RefinementCtx): void {
  const parsed = SpiffeId.parse(id);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
}

function serviceAccountProblem(value: string, ctx: z.RefinementCtx): void {
  const [namespace, serviceAccount, ...more] = value.split('/');
  const parsed = namespace === undefined || serviceAccount === undefined || more.length > 0 ? undefined : SpiffeId.forServiceAccount('cluster.local', namespace, serviceAccount);
  if (parsed === undefined) ctx.addIssue({ code: 'custom', message: 'expected NAMESPACE/SERVICE_ACCOUNT' });
  else if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
}

export function parseTestFile(file: string, text: string): TestFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const position = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((error) => `${position(error.pos[0])}: ${error.message.split('\n')[0]}`) };
  }
  const root = doc.contents;
  const cases = isMap(root) ? root.get('cases', true) : undefined;
  if (!isMap(root) || !isSeq(cases) || root.items.length !== 1) {
    return { ok: false, problems: [`${file}:1:1: expected a mapping with one key, cases: a list of test cases`] };
  }

  const problems: string[] = [];
  const parsed: TestCase[] = [];
  const names = new Map<string, string>();
  cases.items.forEach((_, index) => {
    const where = (...path: (string | number)[]): string => position(nodeOffset(doc, ['cases', index], path));
    const raw = doc.getIn(['cases', index]) as unknown;
    // toJS with the document resolves anchors and aliases (`groups: *staff`), at most 100 of them per case.
    const result = caseSchema.safeParse(isMap(raw) ? raw.toJS(doc, { maxAliasCount: 100 }) : raw, { error: (issue) => (issue.input === undefined ? 'is required' : undefined) });
    const rawName = isMap(raw) ? raw.get('name') : undefined;
    const label = typeof rawName === 'string' && rawName !== '' ? `case ${JSON.stringify(rawName)}` : `case #${index + 1}`;
    if (!result.success) {
      for (const issue of result.error.issues) {
        const key = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        problems.push(`${where(...(issue.path as (string | number)[]))}: ${label}: ${key}${issue.message}`);
      }
      return;
    }
    const value = result.data;
    const first = names.get(value.name);
    if (first !== undefined) {
      problems.push(`${where('name')}: ${label}: the name is already used at ${first}`);
      return;
    }
    names.set(value.name, where('name'));
    parsed.push({
      name: value.name,
      caller: callerOf(value),
      class: value.class,
      actor: value.actor === undefined ? undefined : { id: value.actor, class: value.actorClass },
      act: value.act,
      method: value.method,
      path: value.path,
      host: value.host,
      service: value.service,
      headers: value.headers,
      sourceIp: value.sourceIp,
      expect: value.expect,
      policies: value.policies,
      where,
    });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, cases: parsed };
}

function callerOf(value: z.output<typeof caseSchema>): Caller {
  if (value.spiffe !== undefined) return { kind: 'spiffe', id: value.spiffe };
  if (value.serviceAccount !== undefined) {
    const [namespace = '', serviceAccount = ''] = value.serviceAccount.split('/');
    return { kind: 'serviceAccount', namespace, serviceAccount };
  }
  if (value.user !== undefined) return { kind: 'user', subject: value.user.subject, issuer: value.user.issuer, groups: value.user.groups };
  return { kind: 'anonymous' };
}

/** The offset of the deepest node along `base` + `path` that exists (a missing key points at its case). */
function nodeOffset(doc: Document, base: (string | number)[], path: (string | number)[]): number {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn([...base, ...path.slice(0, length)], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return node.range[0];
  }
  return 0;
}
