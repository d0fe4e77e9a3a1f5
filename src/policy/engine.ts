import { basename } from 'node:path';
import {
  formatPolicies,
  isAuthorized,
  policyToJson,
  policyToText,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  validate,
  type DetailedError,
  type Expr,
  type ExprNoExt,
  type PatternElem,
  type PolicyJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { deepFreeze } from '../deep-freeze.js';
import type { CedarRequest } from './entities.js';
import { splitPolicies } from './policy-split.js';
import type { PolicyProblem } from './problem.js';
import { indexOfByteOffset, lineColAt } from './source-position.js';
import { policySetVersion, type PolicySetInput } from './version.js';

export interface PolicyInfo {
  /** `@id("…")`, else `FILE#N` with N counted from 0 within the file. */
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly effect: 'permit' | 'forbid';
  readonly text: string;
}

export interface EngineDecision {
  readonly decision: 'allow' | 'deny';
  /** Ids of the policies that decided: the permits of an allow, the forbids of a deny; none for a default deny. */
  readonly determining: string[];
  /** `policy` is '' when Cedar refused the request itself rather than one policy. */
  readonly errors: { policy: string; message: string }[];
}

/** A policy in Cedar's JSON form (scope constraints and condition expressions), for code that analyses policies. */
export type { Expr, ExprNoExt, PatternElem, PolicyJson };

export type PrepareResult = { ok: true; engine: PolicyEngine } | { ok: false; problems: PolicyProblem[] };

/** A policy as parsed from its file, before the set is validated. */
interface ParsedPolicy extends PolicyInfo {
  readonly start: number;
  readonly source: string;
  readonly json: PolicyJson;
}

/**
 * One validated, immutable version of the policy set over Cedar. The only module that talks to
 * cedar-wasm, so its quirks (byte offsets, answers that say "success" while carrying errors,
 * preparsed state) stay here.
 */
export class PolicyEngine {
  private readonly order: ReadonlyMap<string, number>;
  private readonly texts: Readonly<Record<string, string>>;

  private constructor(
    readonly version: string,
    readonly policies: readonly PolicyInfo[],
    readonly schemaText: string,
    /** Warnings from validation; they never stop a set from loading. */
    readonly warnings: readonly PolicyProblem[],
    private readonly jsons: ReadonlyMap<string, PolicyJson>,
  ) {
    this.order = new Map(policies.map((policy, index) => [policy.id, index]));
    this.texts = Object.fromEntries(policies.map((policy) => [policy.id, policy.text]));
  }

  /** Parses, names and strictly validates every policy; reports every problem at once. */
  static prepare(input: PolicySetInput): PrepareResult {
    const problems: PolicyProblem[] = [];
    const files = [...input.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const parsed = files.flatMap((file) => parseFile(file.name, file.text, problems));
    const policies = withoutDuplicateIds(parsed, problems);
    problems.push(...validatePolicies(policies, input));

    const errors = problems.filter((problem) => problem.severity === 'error');
    if (errors.length > 0) return { ok: false, problems };

    const version = policySetVersion(input);
    const engine = new PolicyEngine(
      version,
      policies.map(({ id, file, line, effect, text }) => ({ id, file, line, effect, text })),
      input.schemaText,
      problems,
      new Map(policies.map((policy) => [policy.id, deepFreeze(policy.json)])),
    );
    const preparsed = engine.preparse();
    if (!preparsed.ok) return { ok: false, problems: [{ file: input.schemaFile, line: 0, col: 0, message: preparsed.message, severity: 'error' }] };
    return { ok: true, engine };
  }

  /**
   * Never throws, and fails closed: a `forbid` that errors counts as a `forbid` that matched
   * (Cedar itself skips it and may allow), an erroring `permit` simply does not apply, and a
   * request Cedar refuses (an entity or context that does not fit the schema) is a deny.
   */
  authorize(req: CedarRequest): EngineDecision {
    const preparsed = this.preparse();
    if (!preparsed.ok) return refused(preparsed.message);
    return this.evaluate(req, preparsed.name, preparsed.name);
  }

  /**
   * `authorize` over only the named policies of this set, under the same schema and with the
   * same fail-closed reading. For analysis that asks many questions of a large set and knows
   * which policies can apply (`gatehouse report`): a policy whose scope excludes the request can
   * neither permit nor forbid it, so leaving it out changes no answer, and Cedar's cost grows
   * with the policies it is given. Ids not in the set are ignored. A subset is preparsed once
   * and kept for later calls with the same ids (a few subsets at a time).
   */
  authorizeAmong(ids: readonly string[], req: CedarRequest): EngineDecision {
    const preparsed = this.preparse();
    if (!preparsed.ok) return refused(preparsed.message);
    const known = [...new Set(ids)].filter((id) => this.texts[id] !== undefined);
    const subset = preparsedSubsets.ensure(this.version, known, this.texts);
    if (!subset.ok) return refused(subset.message);
    return this.evaluate(req, subset.name, preparsed.name);
  }

  private evaluate(req: CedarRequest, policySetName: string, schemaName: string): EngineDecision {
    let answer: ReturnType<typeof statefulIsAuthorized>;
    try {
      answer = statefulIsAuthorized({
        ...req,
        preparsedPolicySetId: policySetName,
        preparsedSchemaName: schemaName,
        validateRequest: true,
      });
    } catch (err) {
      // wasm-bindgen throws when a value cannot cross into Rust; that is a bad request, not a crash.
      return refused(String(err));
    }
    if (answer.type === 'failure') return refused(answer.errors.map((error) => error.message).join('; '));

    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((error) => ({ policy: error.policyId, message: error.error.message }));
    const erroredForbids = diagnostics.errors.map((error) => error.policyId).filter((id) => this.effectOf(id) === 'forbid');
    if (erroredForbids.length === 0) return { decision, determining: this.inPolicyOrder(diagnostics.reason), errors };
    const matchedForbids = decision === 'deny' ? diagnostics.reason : [];
    return { decision: 'deny', determining: this.inPolicyOrder([...matchedForbids, ...erroredForbids]), errors };
  }

  /**
   * The policy in Cedar's JSON form, or undefined for an id not in the set: the parse `prepare`
   * made of the very text Cedar evaluates, kept because parsing again costs about a millisecond a
   * policy. Frozen, since every caller shares it.
   */
  policyJson(id: string): PolicyJson | undefined {
    return this.jsons.get(id);
  }

  private effectOf(id: string): 'permit' | 'forbid' | undefined {
    const index = this.order.get(id);
    return index === undefined ? undefined : this.policies[index]?.effect;
  }

  // Cedar's order of policy ids is unspecified; logs and tests want the set's own order.
  private inPolicyOrder(ids: readonly string[]): string[] {
    return [...new Set(ids)].sort((a, b) => (this.order.get(a) ?? Infinity) - (this.order.get(b) ?? Infinity));
  }

  private preparse(): { ok: true; name: string } | { ok: false; message: string } {
    return preparsedSlots.ensure(this.version, this.schemaText, this.texts);
  }
}

/**
 * cedar-wasm keeps preparsed schemas and policy sets by name for the life of the process and
 * has no call to drop one; preparsing under an existing name replaces it. Reusing a few names
 * in turn bounds that memory however often policies reload. An engine whose name has since
 * been taken by newer versions (only possible for a caller holding on to an old engine)
 * preparses again on its next call instead of evaluating someone else's policies.
 */
class PreparsedSlots {
  private readonly owners: (string | undefined)[];
  private next = 0;

  constructor(size: number) {
    this.owners = new Array<string | undefined>(size).fill(undefined);
  }

  ensure(version: string, schemaText: string, policies: Readonly<Record<string, string>>): { ok: true; name: string } | { ok: false; message: string } {
    const held = this.owners.indexOf(version);
    if (held !== -1) return { ok: true, name: slotName(held) };
    const slot = this.next;
    this.next = (this.next + 1) % this.owners.length;
    // The slot changes hands first, so a half-done preparse can never be mistaken for a version.
    this.owners[slot] = undefined;
    const schema = preparseSchema(slotName(slot), schemaText);
    if (schema.type === 'failure') return { ok: false, message: `schema: ${messages(schema.errors)}` };
    const set = preparsePolicySet(slotName(slot), { staticPolicies: policies });
    if (set.type === 'failure') return { ok: false, message: `policies: ${messages(set.errors)}` };
    this.owners[slot] = version;
    return { ok: true, name: slotName(slot) };
  }
}

const preparsedSlots = new PreparsedSlots(8);

/**
 * Policy subsets for `authorizeAmong`, under their own few names so they never take a slot of a
 * serving version. They use the schema preparsed in the version's slot.
 */
class PreparsedSubsets {
  private readonly owners: (string | undefined)[];
  private next = 0;

  constructor(size: number) {
    this.owners = new Array<string | undefined>(size).fill(undefined);
  }

  ensure(version: string, ids: readonly string[], texts: Readonly<Record<string, string>>): { ok: true; name: string } | { ok: false; message: string } {
    const key = `${version}\n${ids.join('\n')}`;
    const held = this.owners.indexOf(key);
    if (held !== -1) return { ok: true, name: subsetName(held) };
    const slot = this.next;
    this.next = (this.next + 1) % this.owners.length;
    this.owners[slot] = undefined;
    const set = preparsePolicySet(subsetName(slot), { staticPolicies: Object.fromEntries(ids.map((id) => [id, texts[id]!])) });
    if (set.type === 'failure') return { ok: false, message: `policies: ${messages(set.errors)}` };
    this.owners[slot] = key;
    return { ok: true, name: subsetName(slot) };
  }
}

const preparsedSubsets = new PreparsedSubsets(16);

function subsetName(slot: number): string {
  return `gatehouse-subset-${slot}`;
}

function slotName(slot: number): string {
  return `gatehouse-${slot}`;
}

function refused(message: string): EngineDecision {
  return { decision: 'deny', determining: [], errors: [{ policy: '', message }] };
}

function messages(errors: readonly DetailedError[]): string {
  return errors.map((error) => error.message).join('; ');
}

/** Parses each policy of one file on its own, so each error points into its own policy. */
function parseFile(file: string, text: string, problems: PolicyProblem[]): ParsedPolicy[] {
  const parsed: ParsedPolicy[] = [];
  for (const [index, source] of splitPolicies(text).entries()) {
    const answer = policyToJson(source.text);
    if (answer.type === 'failure') {
      problems.push(...answer.errors.map((error) => locate(error, file, text, source.start, source.text, 'error')));
      continue;
    }
    const position = lineColAt(text, source.start);
    if (answer.json.annotations?.id === '') {
      problems.push({ file, ...position, message: 'the @id annotation is empty', severity: 'error' });
      continue;
    }
    parsed.push({
      id: answer.json.annotations?.id ?? `${basename(file)}#${index}`,
      file,
      line: position.line,
      effect: answer.json.effect,
      text: source.text,
      start: source.start,
      source: text,
      json: answer.json,
    });
  }
  return parsed;
}

function withoutDuplicateIds(parsed: readonly ParsedPolicy[], problems: PolicyProblem[]): ParsedPolicy[] {
  const seen = new Map<string, ParsedPolicy>();
  for (const policy of parsed) {
    const first = seen.get(policy.id);
    if (first === undefined) {
      seen.set(policy.id, policy);
      continue;
    }
    const at = lineColAt(policy.source, policy.start);
    const firstAt = lineColAt(first.source, first.start);
    problems.push({
      file: policy.file,
      ...at,
      message: `duplicate policy id ${JSON.stringify(policy.id)}, first used at ${first.file}:${firstAt.line}:${firstAt.col}`,
      severity: 'error',
    });
  }
  return [...seen.values()];
}

/**
 * Strict validation against the schema. Cedar answers "success" even when policies break the
 * schema (the verdict is in `validationErrors`); "failure" means the schema itself is wrong.
 * Policies that failed to parse are left out, and the rest still checked, so every problem shows at once.
 */
function validatePolicies(policies: readonly ParsedPolicy[], input: PolicySetInput): PolicyProblem[] {
  const byId = new Map(policies.map((policy) => [policy.id, policy]));
  const answer = validate({
    schema: input.schemaText,
    policies: { staticPolicies: Object.fromEntries(policies.map((policy) => [policy.id, policy.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    return [
      ...answer.errors.map((error) => locate(error, input.schemaFile, input.schemaText, 0, input.schemaText, 'error')),
      ...answer.warnings.map((warning) => locate(warning, input.schemaFile, input.schemaText, 0, input.schemaText, 'warning')),
    ];
  }
  const inPolicy = (found: { policyId: string; error: DetailedError }, severity: 'error' | 'warning'): PolicyProblem => {
    const policy = byId.get(found.policyId);
    const problem =
      policy === undefined
        ? locate(found.error, input.schemaFile, input.schemaText, 0, input.schemaText, severity)
        : locate(found.error, policy.file, policy.source, policy.start, policy.text, severity);
    return { ...problem, policy: found.policyId };
  };
  return [
    ...answer.validationErrors.map((found) => inPolicy(found, 'error')),
    ...answer.validationWarnings.map((found) => inPolicy(found, 'warning')),
    ...answer.otherWarnings.map((warning) => locate(warning, input.schemaFile, input.schemaText, 0, input.schemaText, 'warning')),
  ];
}

/**
 * A Cedar error → a problem at FILE:LINE:COL. Cedar's offsets are UTF-8 bytes into the text it
 * was given (`fragment`, which starts at UTF-16 index `fragmentStart` of the file's `fileText`);
 * an error without a location points at the start of the fragment.
 */
function locate(
  error: DetailedError,
  file: string,
  fileText: string,
  fragmentStart: number,
  fragment: string,
  severity: 'error' | 'warning',
): PolicyProblem {
  const offset = error.sourceLocations?.[0]?.start ?? 0;
  const position = lineColAt(fileText, fragmentStart + indexOfByteOffset(fragment, offset));
  const help = error.help ? ` (${error.help})` : '';
  return { file, line: position.line, col: position.col, message: `${error.message}${help}`, severity };
}

/** Cedar's canonical layout of a policy file, for `gatehouse format`; comments are kept. */
export function formatPolicyText(text: string): { ok: true; text: string } | { ok: false; message: string } {
  const answer = formatPolicies({ policyText: text });
  if (answer.type === 'success') return { ok: true, text: answer.formatted_policy };
  const message = answer.errors
    .map((error) => {
      const position = lineColAt(text, indexOfByteOffset(text, error.sourceLocations?.[0]?.start ?? 0));
      return `${position.line}:${position.col}: ${error.message}`;
    })
    .join('\n');
  return { ok: false, message };
}

/** How one `when`/`unless` clause of a permit fared against a request. */
export interface ClauseTrace {
  /** The clause's position among the policy's conditions, from 0. */
  readonly index: number;
  readonly kind: 'when' | 'unless';
  /** The clause's expression as Cedar prints it. */
  readonly text: string;
  /** True when the clause lets the permit apply: a `when` that is true, an `unless` that is false. */
  readonly holds: boolean;
  /** Set when evaluating the clause failed (for example an absent attribute read without `has`). */
  readonly error?: string;
  /**
   * For a clause that does not hold and is a chain of `&&` (`when`) or `||` (`unless`): the part
   * that decided it (the first false one, or the first true one), as Cedar prints it.
   */
  readonly decidedBy?: string;
}

/** A permit whose scope matched a request: it applied (`satisfied`), or a condition stopped it. */
export interface PermitTrace {
  readonly id: string;
  readonly satisfied: boolean;
  readonly clauses: readonly ClauseTrace[];
}

/**
 * For `gatehouse check`: the permits whose scope (principal, action, resource) matches the
 * request, each with the verdict of every condition clause. Cedar evaluates the permit's scope
 * alone (the JSON form of the policy without its conditions), then each clause alone, under the
 * same schema and request as `authorize`, so a near miss names the condition to fix.
 */
export function tracePermits(engine: PolicyEngine, req: CedarRequest): { ok: true; permits: PermitTrace[] } | { ok: false; message: string } {
  const permits: { id: string; json: PolicyJson }[] = [];
  for (const policy of engine.policies) {
    if (policy.effect !== 'permit') continue;
    const parsed = policyToJson(policy.text);
    if (parsed.type === 'failure') return { ok: false, message: `${policy.id}: ${messages(parsed.errors)}` };
    permits.push({ id: policy.id, json: { ...parsed.json, annotations: {} } });
  }
  const withConditions = (json: PolicyJson, conditions: PolicyJson['conditions']): PolicyJson => ({ ...json, conditions });

  const scopes = evaluateEach(req, engine.schemaText, Object.fromEntries(permits.map((permit, p) => [`p${p}`, withConditions(permit.json, [])])));
  if (!scopes.ok) return scopes;
  const matched = permits.filter((_, p) => scopes.satisfied.has(`p${p}`));

  // Every clause alone, and every part of a chain (`a && b` of a `when`, `a || b` of an
  // `unless`) alone: a part has the same value alone as inside its chain, since Cedar
  // expressions have no side effects, so the first part that fails is the one that decided.
  const probes: Record<string, PolicyJson> = {};
  const chains = new Map<string, Expr[]>();
  matched.forEach((permit, p) => {
    permit.json.conditions.forEach((clause, c) => {
      probes[`p${p}c${c}`] = withConditions(permit.json, [clause]);
      const parts = chainParts(clause.body, clause.kind === 'when' ? '&&' : '||');
      if (parts.length < 2) return;
      chains.set(`p${p}c${c}`, parts);
      parts.forEach((body, k) => (probes[`p${p}c${c}k${k}`] = withConditions(permit.json, [{ kind: clause.kind, body }])));
    });
  });
  const results = evaluateEach(req, engine.schemaText, probes);
  if (!results.ok) return results;

  const traces = matched.map((permit, p): PermitTrace => {
    const clauses = permit.json.conditions.map((clause, c): ClauseTrace => {
      const key = `p${p}c${c}`;
      const holds = results.satisfied.has(key);
      const error = results.errors.get(key);
      const parts = chains.get(key);
      const deciding = holds || error !== undefined || parts === undefined ? -1 : parts.findIndex((_, k) => !results.satisfied.has(`${key}k${k}`));
      const decidedBy = deciding === -1 ? undefined : expressionText(parts![deciding]!);
      return { index: c, kind: clause.kind, text: expressionText(clause.body), holds, error, decidedBy };
    });
    return { id: permit.id, satisfied: clauses.every((clause) => clause.holds), clauses };
  });
  return { ok: true, permits: traces };
}

/** A permit's scope, in Cedar's JSON form, and which of its three parts match a request. */
export interface ScopeTrace {
  readonly id: string;
  readonly scope: Pick<PolicyJson, 'principal' | 'action' | 'resource'>;
  readonly principal: boolean;
  readonly action: boolean;
  readonly resource: boolean;
}

/**
 * For `gatehouse check`: every permit's principal, action and resource constraint evaluated by
 * Cedar alone against the request (the other two left open, conditions dropped), so `in` follows
 * the request's own entity hierarchy and action groups as it does in `authorize`.
 */
export function traceScopes(engine: PolicyEngine, req: CedarRequest): { ok: true; scopes: ScopeTrace[] } | { ok: false; message: string } {
  const all = { op: 'All' } as const;
  const permits: { id: string; json: PolicyJson }[] = [];
  const probes: Record<string, PolicyJson> = {};
  for (const policy of engine.policies) {
    if (policy.effect !== 'permit') continue;
    const parsed = policyToJson(policy.text);
    if (parsed.type === 'failure') return { ok: false, message: `${policy.id}: ${messages(parsed.errors)}` };
    const json: PolicyJson = { ...parsed.json, annotations: {}, conditions: [] };
    const p = permits.push({ id: policy.id, json }) - 1;
    probes[`p${p}principal`] = { ...json, action: all, resource: all };
    probes[`p${p}action`] = { ...json, principal: all, resource: all };
    probes[`p${p}resource`] = { ...json, principal: all, action: all };
  }
  const results = evaluateEach(req, engine.schemaText, probes);
  if (!results.ok) return results;
  const holds = (key: string): boolean => results.satisfied.has(key);
  return {
    ok: true,
    scopes: permits.map(({ id, json }, p) => ({
      id,
      scope: { principal: json.principal, action: json.action, resource: json.resource },
      principal: holds(`p${p}principal`),
      action: holds(`p${p}action`),
      resource: holds(`p${p}resource`),
    })),
  };
}

/** Evaluates every policy of `set` on its own: which were satisfied, and which errored (with why). */
function evaluateEach(
  req: CedarRequest,
  schemaText: string,
  set: Record<string, PolicyJson>,
): { ok: true; satisfied: ReadonlySet<string>; errors: ReadonlyMap<string, string> } | { ok: false; message: string } {
  if (Object.keys(set).length === 0) return { ok: true, satisfied: new Set(), errors: new Map() };
  let answer: ReturnType<typeof isAuthorized>;
  try {
    answer = isAuthorized({ ...req, schema: schemaText, validateRequest: true, policies: { staticPolicies: set } });
  } catch (err) {
    return { ok: false, message: String(err) };
  }
  if (answer.type === 'failure') return { ok: false, message: messages(answer.errors) };
  const { reason, errors } = answer.response.diagnostics;
  return { ok: true, satisfied: new Set(reason), errors: new Map(errors.map((error) => [error.policyId, error.error.message])) };
}

/** `a && b && c` → [a, b, c] for `op` `&&` (Cedar's JSON nests to the left); anything else → [expr]. */
function chainParts(expr: Expr, op: '&&' | '||'): Expr[] {
  const node = (expr as Record<string, unknown>)[op] as { left: Expr; right: Expr } | undefined;
  return node === undefined ? [expr] : [...chainParts(node.left, op), ...chainParts(node.right, op)];
}

/** Cedar's own rendering of one expression. */
function expressionText(body: Expr): string {
  const all = { op: 'All' } as const;
  const answer = policyToText({ effect: 'permit', principal: all, action: all, resource: all, conditions: [{ kind: 'when', body }] });
  if (answer.type === 'failure') return JSON.stringify(body);
  const match = /\bwhen \{ ([\s\S]*) \};?$/.exec(answer.text.trim());
  return match?.[1] ?? answer.text;
}
