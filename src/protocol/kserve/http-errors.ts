/**
 * Errors as the KServe v2 HTTP API reports them: a status code and `{"error": "..."}`.
 * Every failure takes this path: ShoalErrors from the service, fastify's own errors
 * (body too large, bad Content-Length, no such route) and anything unexpected.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorKind, ShoalError } from '../../core/errors.js';

const STATUS: Record<ErrorKind, number> = {
  invalid_argument: 400,
  not_found: 404,
  too_large: 413,
  overloaded: 429,
  // Nginx's "client closed request": nobody reads it, but logs and metrics do.
  cancelled: 499,
  internal: 500,
  unavailable: 503,
  // Refused before running because its deadline cannot be met: the client may retry or shed load.
  deadline_exceeded: 429,
};

export function statusOf(kind: ErrorKind): number {
  return STATUS[kind];
}

export interface HttpError {
  status: number;
  message: string;
  retryAfterSeconds?: number;
  /** A fault of ours rather than of the request: worth a log line with a stack. */
  unexpected: boolean;
}

export function toHttpError(err: unknown, request?: FastifyRequest): HttpError {
  if (err instanceof ShoalError) {
    const status = statusOf(err.kind);
    const out: HttpError = { status, message: err.message, unexpected: err.kind === 'internal' };
    if (err.kind === 'overloaded' && err.retryAfterSeconds !== undefined) out.retryAfterSeconds = err.retryAfterSeconds;
    return out;
  }
  const fastifyError = err as Partial<FastifyError> | undefined;
  const code = fastifyError?.statusCode;
  if (typeof code === 'number' && code >= 400 && code <= 599) {
    let message = fastifyError?.message ?? 'request failed';
    if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && request !== undefined) {
      message = `request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`;
    }
    return { status: code, message, unexpected: code >= 500 };
  }
  const detail = err instanceof Error ? err.message : String(err);
  return { status: 500, message: `internal error: ${detail}`, unexpected: true };
}

/** Sends `err` as the reply; returns what the client was told. */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): HttpError {
  const e = toHttpError(err, request);
  if (e.unexpected) request.log.error({ err }, `${request.method} ${request.url} failed: ${e.message}`);
  if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(0, Math.ceil(e.retryAfterSeconds))));
  void reply.code(e.status).type('application/json').send({ error: e.message });
  return e;
}

/**
 * Installs the error and not-found handlers on `app` itself (not a child scope), since
 * fastify raises some errors before any route is chosen.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    sendError(err, request, reply);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route for ${request.method} ${request.url.slice(0, 300)}` });
  });
}
