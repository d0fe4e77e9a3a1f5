import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { decide, noLifecycle } from '../core/decide.js';
import { requestFacts, type CheckRequestMessage } from '../core/decode.js';
import type { Decision } from '../core/decision.js';
import type { AuthnResult } from '../core/identity.js';
import { classifierFromRules } from '../identity/classify.js';
import { workloadFromSpiffeUri, type MtlsTrust } from '../identity/mtls.js';
import { CedarAuthorizer } from '../policy/authorizer.js';
import type { PolicyEngine } from '../policy/cedar/engine.js';
import { usage, type CommandResult } from './command.js';
import { loadEngine } from './policy-set.js';
import { parseTestFile, type TestCase } from './test-file.js';

const help = `gatehouse test [--policies DIR] [--config FILE] [--coverage] FILE…
  runs policy test cases (YAML, by convention policies/tests/*.yaml) through the same decision
  code as the server and reports each case as ✓ or ✗; the last line is 'N passed, M failed'
  --coverage   also list the policies no case had among its determining policies
  --config     takes trust domains and workload class rules from a gatehouse config file
exit 0 all passed (and, with --coverage, every policy covered), 1 otherwise, 2 usage error or
a malformed test file`;

/** The issuer of a `user:` case that names none. */
export const defaultTestIssuer = 'https://issuer.test';

export async function test(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      policies: { type: 'string' },
      config: { type: 'string' },
      coverage: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  if (positionals.length === 0) return usage(`gatehouse test: name at least one test file\n${help}`, 2);
  const config = loadConfig(values.config, { policies: values.policies });
  const loaded = await loadEngine(config.policies);
  if (!loaded.ok) return { code: 1, err: loaded.err };
  const runner = new CaseRunner(loaded.engine, config);

  const out: string[] = [];
  const covered = new Set<string>();
  let passed = 0;
  let failed = 0;
  let malformed = 0;
  for (const file of positionals) {
    out.push(file);
    const read = await readTestFile(file, loaded.engine);
    if (!read.ok) {
      malformed += 1;
      out.push(...read.problems.map((problem) => `  ! ${problem}`));
      continue;
    }
    for (const testCase of read.cases) {
      const decision = runner.run(testCase);
      const actual = outcomeOf(decision);
      for (const id of actual.policies) covered.add(id);
      if (matches(testCase, actual)) {
        passed += 1;
        out.push(`  ✓ ${testCase.name}`);
      } else {
        failed += 1;
        out.push(`  ✗ ${testCase.name}  (${testCase.where()})`, ...difference(testCase, actual));
      }
    }
  }

  const uncovered = loaded.engine.policies.filter((policy) => !covered.has(policy.id));
  if (values.coverage) {
    out.push('');
    const total = loaded.engine.policies.length;
    out.push(`coverage: ${total - uncovered.length} of ${total} policies determined at least one case`);
    const width = Math.max(0, ...uncovered.map((policy) => policy.id.length));
    out.push(...uncovered.map((policy) => `  not covered: ${policy.id.padEnd(width)}  ${policy.file}:${policy.line}`));
  }
  if (malformed > 0) out.push('', `${malformed} test ${malformed === 1 ? 'file was' : 'files were'} not run: fix the problems marked '!'`);
  out.push('', `${passed} passed, ${failed} failed`);
  const code = malformed > 0 ? 2 : failed > 0 || (values.coverage && uncovered.length > 0) ? 1 : 0;
  return { code, out: `${out.join('\n')}\n` };
}

async function readTestFile(file: string, engine: PolicyEngine): Promise<{ ok: true; cases: readonly TestCase[] } | { ok: false; problems: readonly string[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read: ${(err as Error).message}`] };
  }
  const parsed = parseTestFile(file, text);
  if (!parsed.ok) return parsed;
  // An expected id that names no policy is a typo in the test, not a failing policy.
  const known = new Set(engine.policies.map((policy) => policy.id));
  const problems = parsed.cases.flatMap((testCase) =>
    (testCase.policies ?? []).flatMap((id, index) => (known.has(id) ? [] : [`${testCase.where('policies', index)}: case ${JSON.stringify(testCase.name)}: no policy has the id ${JSON.stringify(id)}`])),
  );
  return problems.length > 0 ? { ok: false, problems } : parsed;
}

/**
 * Evaluates a case the way the server evaluates a Check: the case becomes a CheckRequest that
 * goes through the same decoding, the caller an identity (workloads through the same trust
 * domain check and class rules as mTLS peers), and `decide()` answers with a CedarAuthorizer.
 */
class CaseRunner {
  private readonly authorizer: CedarAuthorizer;
  private readonly trust: MtlsTrust;

  constructor(
    engine: PolicyEngine,
    private readonly config: Config,
  ) {
    this.authorizer = new CedarAuthorizer(engine);
    this.trust = {
      trustDomains: new Set(config.identity.trustDomains),
      bundles: new Map(),
      classify: classifierFromRules(config.identity.classes),
    };
  }

  run(testCase: TestCase): Decision {
    const facts = requestFacts(checkRequestOf(testCase), this.config.limits);
    return decide({
      facts,
      authn: this.authn(testCase),
      authorizer: this.authorizer,
      lifecycle: noLifecycle,
      mode: { dryRun: false, dryRunNamespaces: new Set() },
      nowMs: Date.now(),
    });
  }

  private authn(testCase: TestCase): AuthnResult {
    const { caller } = testCase;
    switch (caller.kind) {
      case 'spiffe':
      case 'serviceAccount': {
        const uri = caller.kind === 'spiffe' ? caller.id : `spiffe://${this.config.identity.trustDomains[0]}/ns/${caller.namespace}/sa/${caller.serviceAccount}`;
        const result = workloadFromSpiffeUri(uri, this.trust, 'test case caller');
        if (!result.ok || result.identity.kind !== 'workload' || testCase.class === undefined) return result;
        return { ok: true, identity: { ...result.identity, class: testCase.class } };
      }
      case 'user':
        return { ok: true, identity: { kind: 'user', subject: caller.subject, name: caller.subject, issuer: caller.issuer ?? defaultTestIssuer, groups: caller.groups } };
      case 'anonymous':
        return { ok: true, identity: { kind: 'anonymous' } };
      default: {
        const never: never = caller;
        return never;
      }
    }
  }
}

function checkRequestOf(testCase: TestCase): CheckRequestMessage {
  const host = testCase.host ?? testCase.service ?? '';
  return {
    attributes: {
      source: testCase.sourceIp === undefined ? null : { address: { socket_address: { address: testCase.sourceIp, port_value: 0 } } },
      request: {
        http: {
          method: testCase.method,
          path: testCase.path,
          host,
          scheme: 'http',
          headers: { ':authority': host, ':method': testCase.method, ':path': testCase.path, ...testCase.headers },
        },
      },
      context_extensions: testCase.service === undefined ? {} : { service: testCase.service },
    },
  };
}

interface Outcome {
  readonly decision: 'allow' | 'deny';
  readonly policies: readonly string[];
  /** Why a deny, in the decision log's terms (`policy_denied`, a credential or request code). */
  readonly why: string;
  readonly errors: readonly string[];
}

function outcomeOf(decision: Decision): Outcome {
  switch (decision.kind) {
    case 'allow':
      return { decision: 'allow', policies: decision.policies, why: '', errors: decision.errors.map((error) => `${error.policy}: ${error.message}`) };
    case 'deny':
      return { decision: 'deny', policies: decision.policies, why: `${decision.code}: ${decision.reason}`, errors: decision.errors.map((error) => `${error.policy}: ${error.message}`) };
    case 'unavailable':
      return { decision: 'deny', policies: [], why: `${decision.code}: ${decision.reason}`, errors: [] };
    default: {
      const never: never = decision;
      return never;
    }
  }
}

function matches(testCase: TestCase, actual: Outcome): boolean {
  if (testCase.expect !== actual.decision) return false;
  return testCase.policies === undefined || sameSet(testCase.policies, actual.policies);
}

function difference(testCase: TestCase, actual: Outcome): string[] {
  const expected = testCase.policies === undefined ? '(not checked)' : list(testCase.policies);
  const lines = [
    `      - expected: ${testCase.expect.padEnd(5)}  policies: ${expected}`,
    `      + actual:   ${actual.decision.padEnd(5)}  policies: ${list(actual.policies)}${actual.why ? `  (${actual.why})` : ''}`,
  ];
  return [...lines, ...actual.errors.map((error) => `        evaluation error: ${error}`)];
}

function list(ids: readonly string[]): string {
  return `[${ids.join(', ')}]`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((id) => right.has(id));
}
