import { timingSafeEqual } from 'node:crypto';
import { ShoalError } from '../core/errors.js';
import type { TenantIdentity } from '../core/request.js';
import { type TenantConfig, type TenantsConfig, sha256 } from './config.js';
import { compilePatterns } from './patterns.js';
import { InflightQuota } from './quota.js';
import { TokenBucket } from './token-bucket.js';

/**
 * The tenants of a server: who an API key belongs to, which models each may use and see,
 * and the rate limit and concurrency quota each request passes on its way in. Protocol-free:
 * an adapter hands in the key it found and gets a tenant or a refusal back.
 */

export class Tenant implements TenantIdentity {
  readonly name: string;
  readonly weight: number;
  readonly admin: boolean;
  readonly bucket: TokenBucket | undefined;
  readonly quota: InflightQuota;
  private readonly listed: (model: string) => boolean;
  private readonly owned: (model: string) => boolean;

  constructor(config: TenantConfig, private readonly isPrivate: (model: string) => boolean) {
    this.name = config.name;
    this.weight = config.weight;
    this.admin = config.admin;
    this.bucket = config.rateLimit ? new TokenBucket(config.rateLimit.requestsPerSecond, config.rateLimit.burst) : undefined;
    this.quota = new InflightQuota(config.maxInflight);
    this.listed = compilePatterns(config.models);
    this.owned = compilePatterns(config.privateModels);
  }

  /** A private model (one some tenant's private_models matches) is for the tenants naming it there; `models` never reaches it. */
  mayUse(model: string): boolean {
    return this.owned(model) || (this.listed(model) && !this.isPrivate(model));
  }
}

export type Authentication =
  | { tenant: Tenant }
  /** `keyDigestPrefix`: the first hex digits of the presented key's SHA-256, for logs; never the key. */
  | { tenant?: undefined; problem: 'missing' | 'malformed' | 'unknown'; message: string; keyDigestPrefix?: string };

export type RefusalReason = 'rate_limit' | 'concurrency_quota';

export class Tenants {
  readonly list: readonly Tenant[];
  private readonly keys: Array<{ digest: Buffer; tenant: Tenant }> = [];

  constructor(config: TenantsConfig) {
    const isPrivate = compilePatterns(config.tenants.flatMap((t) => t.privateModels));
    this.list = config.tenants.map((t) => new Tenant(t, isPrivate));
    config.tenants.forEach((t, i) => {
      for (const digest of t.keyDigests) this.keys.push({ digest, tenant: this.list[i]! });
    });
  }

  /** The tenant an `Authorization` header's bearer token belongs to, or why there is none. */
  authenticate(authorization: string | undefined): Authentication {
    if (authorization === undefined || authorization === '') return { problem: 'missing', message: 'an API key is required: send Authorization: Bearer <key>' };
    const m = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!m) return { problem: 'malformed', message: 'the Authorization header must be "Bearer <key>"' };
    const digest = sha256(m[1]!);
    // Every stored digest is compared, each in constant time, so the time taken says nothing
    // about which key, or how much of one, matched.
    let found: Tenant | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.digest, digest) && found === undefined) found = k.tenant;
    if (found) return { tenant: found };
    return { problem: 'unknown', message: 'the API key is not valid', keyDigestPrefix: digest.toString('hex').slice(0, 8) };
  }

  /**
   * Lets one request of `tenant` in at `now`, or throws `overloaded` with Retry-After. The
   * quota is checked before a token is taken, so a request refused for concurrency costs no
   * rate. The caller must `release` once the request is answered.
   */
  admit(tenant: Tenant, now: number): void {
    if (tenant.quota.inflight >= tenant.quota.max) {
      throw new ShoalError('overloaded', `tenant '${tenant.name}' already has ${tenant.quota.inflight} requests in flight, its max_inflight`, 1, 'concurrency_quota');
    }
    const take = tenant.bucket?.take(now);
    if (take !== undefined && !take.ok) {
      const b = tenant.bucket!;
      throw new ShoalError(
        'overloaded',
        `tenant '${tenant.name}' is over its rate limit of ${b.ratePerSecond} requests a second (burst ${b.burst})`,
        Math.max(1, Math.ceil(take.retryAfterMs / 1000)),
        'rate_limit',
      );
    }
    tenant.quota.tryAcquire();
  }

  release(tenant: Tenant): void {
    tenant.quota.release();
  }
}
