import { decodeJwt } from 'jose';
import type { AuthnResult } from '../core/identity.js';
import type { TokenVerification } from './resolve.js';

/**
 * With TokenReview on, only the cluster's own tokens go to the API server; tokens of every other
 * configured issuer (OIDC, JWT-SVIDs) are still verified locally with their own rules. The
 * unverified `iss` only chooses the route: each route verifies the token in full.
 */
export class TokenRouter implements TokenVerification {
  constructor(
    private readonly reviewedIssuers: ReadonlySet<string>,
    private readonly review: TokenVerification,
    private readonly local: TokenVerification,
  ) {}

  verify(token: string, nowSeconds: number): AuthnResult | Promise<AuthnResult> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      issuer = undefined;
    }
    const route = typeof issuer === 'string' && this.reviewedIssuers.has(issuer) ? this.review : this.local;
    return route.verify(token, nowSeconds);
  }
}
