/**
 * API keys over HTTP: `Authorization: Bearer <key>` → a tenant, at the edge, before a route
 * runs. Installed only when the server has tenants, so an open server pays nothing for it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Tenant, Tenants } from '../../tenants/tenants.js';

export interface Rejection {
  problem: 'missing' | 'malformed' | 'unknown' | 'not_admin';
  /** The first hex digits of the presented key's SHA-256; the key itself is never passed on. */
  keyDigestPrefix?: string;
  tenant?: string;
  requestId: string;
  method: string;
  url: string;
}

export interface TenantAuth {
  tenants: Tenants;
  /** Told of each refused request, for logs and metrics. Must not throw. */
  onRejected?: (rejection: Rejection) => void;
}

const TENANT = 'shoalTenant';
type Stamped = FastifyRequest & { [TENANT]: Tenant | null };

/** The tenant the request was authenticated as; undefined on a server without tenants. */
export function tenantOf(request: FastifyRequest): Tenant | undefined {
  return (request as Partial<Stamped>)[TENANT] ?? undefined;
}

/** Every route of `app` (a scope) but those in `open` needs a valid key; the tenant rides on the request. */
export function requireKeys(app: FastifyInstance, auth: TenantAuth, open: ReadonlySet<string>): void {
  app.decorateRequest(TENANT, null);
  app.addHook('onRequest', (request, reply, done) => {
    if (open.has(request.routeOptions.url ?? '')) return done();
    const tenant = authenticate(request, reply, auth);
    if (!tenant) return; // answered 401; the route does not run
    (request as Stamped)[TENANT] = tenant;
    done();
  });
}

/** A route hook that lets only admin tenants through (401 without a valid key, 403 for other tenants). */
export function adminOnly(auth: TenantAuth): onRequestHookHandler {
  return (request, reply, done) => {
    const tenant = authenticate(request, reply, auth);
    if (!tenant) return;
    if (requireAdmin(tenant, request, reply, auth)) done();
  };
}

/** True for an admin tenant; otherwise answers 403 and says false. */
export function requireAdmin(tenant: Tenant, request: FastifyRequest, reply: FastifyReply, auth: TenantAuth): boolean {
  if (tenant.admin) return true;
  auth.onRejected?.({ problem: 'not_admin', tenant: tenant.name, requestId: String(request.id), method: request.method, url: request.url.slice(0, 300) });
  void reply.code(403).type('application/json').send({ error: `tenant '${tenant.name}' is not an admin tenant` });
  return false;
}

function authenticate(request: FastifyRequest, reply: FastifyReply, auth: TenantAuth): Tenant | undefined {
  const header = request.headers.authorization;
  const result = auth.tenants.authenticate(header);
  if (result.tenant) return result.tenant;
  const rejection: Rejection = { problem: result.problem, requestId: String(request.id), method: request.method, url: request.url.slice(0, 300) };
  if (result.keyDigestPrefix !== undefined) rejection.keyDigestPrefix = result.keyDigestPrefix;
  auth.onRejected?.(rejection);
  // RFC 6750: a request without credentials gets the scheme alone; a bad token, why.
  const challenge = result.problem === 'missing' ? 'Bearer realm="shoal"' : 'Bearer realm="shoal", error="invalid_token"';
  void reply.code(401).header('www-authenticate', challenge).type('application/json').send({ error: result.message });
  return undefined;
}
