import type { ErrorCode } from '../errors.js';
import type { CedarRequest } from './cedar-request.js';
import type { Identity } from './identity.js';

/** The code of a deny that policies decided (as opposed to a refused credential or request). */
export const policyDenied = 'policy_denied';

/** Every code a deny or an unavailable decision can carry: a closed set, since each is a metric label. */
export type ReasonCode = ErrorCode | typeof policyDenied;

/** One policy evaluation error, kept for the decision log. */
export interface PolicyError {
  readonly policy: string;
  readonly message: string;
}

/** What was asked, in the terms policies and the decision log use. */
export interface Subject {
  readonly action: string;
  readonly resource: string;
  readonly resourceNamespace: string | undefined;
  /** The normalized path decisions use, without the query; '' when the path was refused. */
  readonly path: string;
}

export type Decision =
  | {
      readonly kind: 'allow';
      readonly identity: Identity;
      readonly subject: Subject;
      readonly policies: readonly string[];
      readonly errors: readonly PolicyError[];
      readonly version: string;
      /** The destination is in dry-run (logged with `mode: dry-run`); an allow is an allow either way. */
      readonly dryRun?: boolean;
      /** The request Cedar evaluated (built on demand). */
      readonly evaluated: () => CedarRequest;
    }
  | {
      readonly kind: 'deny';
      /** forbidden → 403; unauthenticated → 401 with `www-authenticate`. */
      readonly status: 'forbidden' | 'unauthenticated';
      readonly code: ReasonCode;
      /** For the decision log only; never sent to the caller. */
      readonly reason: string;
      readonly identity: Identity | undefined;
      readonly subject: Subject;
      readonly policies: readonly string[];
      readonly errors: readonly PolicyError[];
      /** A dry-run deny is answered as an allow and logged as a deny. */
      readonly dryRun: boolean;
      readonly version: string;
      /** The request Cedar evaluated, when the deny is the policies' (absent for a refused request or credential). */
      readonly evaluated?: () => CedarRequest;
    }
  | {
      /** gatehouse cannot decide: Envoy applies `failure_mode_allow` / `status_on_error`. */
      readonly kind: 'unavailable';
      readonly code: ErrorCode;
      readonly reason: string;
      readonly subject: Subject;
    };
