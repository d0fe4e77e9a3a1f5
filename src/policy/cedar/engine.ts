import { availableParallelism } from 'node:os';
import { statefulIsAuthorized, type Expr, type ExprNoExt, type PatternElem, type PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { errorMessage } from '../../errors.js';
import { deepFreeze } from '../../deep-freeze.js';
import type { CedarRequest } from '../../core/cedar-request.js';
import { untimed, type PhaseClock } from '../load-phases.js';
import type { PolicyProblem } from '../problem.js';
import { policySetVersion, type PolicySetInput } from '../version.js';
import { messages } from './messages.js';
import { actionAncestors, type ActionAncestors } from './action-groups.js';
import { policyIdOf, preparseSubset, preparseVersion, type Preparsed, type SubsetResidency } from './slots.js';
import { checkPolicySet, nothingToReuse, validatePolicySet, type Reusable } from './check-set.js';
import type { CheckedSet, PolicyInfo } from './validate.js';

export type { ActionAncestors, PolicyInfo, SubsetResidency };

/** A policy in Cedar's JSON form (scope constraints and condition expressions), for code that analyses policies. */
export type { Expr, ExprNoExt, PatternElem, PolicyJson };

export interface EngineDecision {
  readonly decision: 'allow' | 'deny';
  /** Ids of the policies that decided: the permits of an allow, the forbids of a deny; none for a default deny. */
  readonly determining: string[];
  /** `policy` is '' when Cedar refused the request itself rather than one policy. */
  readonly errors: { policy: string; message: string }[];
}

/** How `PolicyEngine.load` shares out Cedar's work. */
export interface LoadOptions {
  readonly clock?: PhaseClock;
  /** Threads to parse and validate in (default: one per core, at most 4); 0 keeps it all on the caller's thread. */
  readonly threads?: number;
  /** Fewer policies to parse are parsed on the caller's thread (default 500): starting threads would cost more than they save. */
  readonly minPoliciesForThreads?: number;
  /**
   * The set loaded before, whose answers from Cedar this load takes for every policy whose text
   * (and, for validation, id and schema) it shares: a reload asks Cedar only about what changed.
   */
  readonly earlier?: PolicyEngine;
}

export type PrepareResult = { ok: true; engine: PolicyEngine } | { ok: false; problems: PolicyProblem[] };

/**
 * One validated, immutable version of the policy set over Cedar. Only src/policy/cedar/ talks to
 * cedar-wasm, so its quirks (byte offsets, answers that say "success" while carrying errors,
 * preparsed state) stay there.
 */
export class PolicyEngine {
  private readonly order: ReadonlyMap<string, number>;
  /** The policies' ids and texts in the set's order, as the whole set is preparsed. */
  private readonly ids: readonly string[];
  private readonly orderedTexts: readonly string[];
  private readonly texts: Readonly<Record<string, string>>;
  #actionAncestors: ActionAncestors | undefined | null = null;

  private constructor(
    readonly version: string,
    readonly policies: readonly PolicyInfo[],
    readonly schemaText: string,
    /** Warnings from validation; they never stop a set from loading. */
    readonly warnings: readonly PolicyProblem[],
    private readonly jsons: ReadonlyMap<string, PolicyJson>,
  ) {
    this.order = new Map(policies.map((policy, index) => [policy.id, index]));
    this.ids = policies.map((policy) => policy.id);
    this.orderedTexts = policies.map((policy) => policy.text);
    this.texts = Object.fromEntries(policies.map((policy) => [policy.id, policy.text]));
  }

  /** Parses, names and strictly validates every policy; reports every problem at once. */
  static prepare(input: PolicySetInput, clock: PhaseClock = untimed): PrepareResult {
    return PolicyEngine.#fromChecked(input, validatePolicySet(input, clock), clock);
  }

  /**
   * `prepare` for a set that may be large, and may have been loaded before with a few changes:
   * Cedar is asked only about what `earlier` does not answer, and its parsing and validation run
   * in threads (see check-set.ts), so the event loop stays free for all but the preparse. The
   * same checks, the same problems, the same engine.
   */
  static async load(input: PolicySetInput, options: LoadOptions = {}): Promise<PrepareResult> {
    const clock = options.clock ?? untimed;
    const plan = { threads: options.threads ?? Math.min(availableParallelism(), 4), minPolicies: options.minPoliciesForThreads ?? 500 };
    const reuse = options.earlier === undefined ? nothingToReuse : options.earlier.#reusable();
    return PolicyEngine.#fromChecked(input, await checkPolicySet(input, clock, plan, reuse), clock);
  }

  static #fromChecked(input: PolicySetInput, { policies, problems }: CheckedSet, clock: PhaseClock): PrepareResult {
    if (problems.some((problem) => problem.severity === 'error')) return { ok: false, problems };

    const engine = new PolicyEngine(
      clock.time('version', () => policySetVersion(input)),
      policies.map(({ id, file, line, effect, text }) => ({ id, file, line, effect, text })),
      input.schemaText,
      problems,
      new Map(policies.map((policy) => [policy.id, deepFreeze(policy.json)])),
    );
    const preparsed = clock.time('preparse', () => engine.preparse());
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
    return this.evaluate(req, preparsed.name, preparsed.name, this.ids);
  }

  /**
   * `authorize` over only the named policies of this set, under the same schema and with the
   * same fail-closed reading. For analysis that asks many questions of a large set and knows
   * which policies can apply (`gatehouse report`): a policy whose scope excludes the request can
   * neither permit nor forbid it, so leaving it out changes no answer, and Cedar's cost grows
   * with the policies it is given. Ids not in the set are ignored. A subset is preparsed once
   * and kept for later calls with the same ids (a few subsets at a time, per residency: the
   * report's analysis and serving's per-request slices do not evict each other).
   */
  authorizeAmong(ids: readonly string[], req: CedarRequest, residency: SubsetResidency = 'analysis'): EngineDecision {
    const preparsed = this.preparse();
    if (!preparsed.ok) return refused(preparsed.message);
    const known = [...new Set(ids)].filter((id) => this.texts[id] !== undefined);
    const subset = preparseSubset(this.version, known, this.texts, residency);
    if (!subset.ok) return refused(subset.message);
    return this.evaluate(req, subset.name, preparsed.name, known);
  }

  /** `ids`: the policies preparsed under `policySetName`, in the order they were given (Cedar's answers name them by place). */
  private evaluate(req: CedarRequest, policySetName: string, schemaName: string, ids: readonly string[]): EngineDecision {
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
      return refused(errorMessage(err));
    }
    if (answer.type === 'failure') return refused(messages(answer.errors));

    const { decision, diagnostics } = answer.response;
    const reason = idsOf(diagnostics.reason, ids);
    const erred = idsOf(diagnostics.errors.map((error) => error.policyId), ids);
    // Only if Cedar named policies some other way: which forbid erred would be unknown, and only a deny is safe.
    if (reason === undefined || erred === undefined) return refused('Cedar answered about a policy it was not given');
    // Cedar's order is unspecified (it differs between a set and a slice of it); the set's order is stable.
    const errors = diagnostics.errors
      .map((error, index) => ({ policy: erred[index]!, message: error.error.message }))
      .sort((a, b) => (this.order.get(a.policy) ?? Infinity) - (this.order.get(b.policy) ?? Infinity));
    const erroredForbids = erred.filter((id) => this.effectOf(id) === 'forbid');
    if (erroredForbids.length === 0) return { decision, determining: this.inPolicyOrder(reason), errors };
    const matchedForbids = decision === 'deny' ? reason : [];
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

  /**
   * Cedar's answers this set was built from: each policy's JSON by its text, and which policies
   * strict validation against this schema found nothing in (a set that loaded has no errors, so
   * only the policies a warning names are left out).
   */
  #reusable(): Reusable {
    const byText = new Map(this.policies.map((policy) => [policy.text, this.jsons.get(policy.id)!]));
    const warned = new Set(this.warnings.map((warning) => warning.policy));
    return {
      json: (text) => byText.get(text),
      passed: (id, text, schemaText) => {
        const index = this.order.get(id);
        return schemaText === this.schemaText && index !== undefined && this.policies[index]!.text === text && !warned.has(id);
      },
      validatedUnder: (schemaText) => schemaText === this.schemaText,
    };
  }

  /** The schema's action groups (see action-groups.ts), read once; undefined when they cannot be modelled. */
  actionAncestors(): ActionAncestors | undefined {
    if (this.#actionAncestors === null) this.#actionAncestors = actionAncestors(this.schemaText);
    return this.#actionAncestors;
  }

  private effectOf(id: string): 'permit' | 'forbid' | undefined {
    const index = this.order.get(id);
    return index === undefined ? undefined : this.policies[index]?.effect;
  }

  // Cedar's order of policy ids is unspecified; logs and tests want the set's own order.
  private inPolicyOrder(ids: readonly string[]): string[] {
    return [...new Set(ids)].sort((a, b) => (this.order.get(a) ?? Infinity) - (this.order.get(b) ?? Infinity));
  }

  private preparse(): Preparsed {
    return preparseVersion(this.version, this.schemaText, this.orderedTexts);
  }
}

/** Cedar's names for policies of a set preparsed from `ids` as the ids, or undefined if one is not such a name. */
function idsOf(cedarIds: readonly string[], ids: readonly string[]): string[] | undefined {
  const found = cedarIds.map((id) => policyIdOf(id, ids));
  return found.every((id) => id !== undefined) ? found : undefined;
}

function refused(message: string): EngineDecision {
  return { decision: 'deny', determining: [], errors: [{ policy: '', message }] };
}
