import type { Tensor } from './tensor.js';

export type ParameterValue = string | number | boolean;
export type Parameters = Record<string, ParameterValue>;

/** An output the client asked for by name; `parameters` carry protocol hints through untouched. */
export interface RequestedOutput {
  name: string;
  parameters?: Parameters;
}

/** One inference request, free of any protocol. */
export interface InferRequest {
  /** Client's request id, echoed in the response. */
  id?: string;
  model: string;
  /** A specific version; absent means the model's default (highest ready) version. */
  version?: string;
  inputs: Tensor[];
  /** Outputs to return; absent means all. */
  outputs?: RequestedOutput[];
  parameters: Parameters;
  /** Clock time (ms) the request arrived at the server. */
  arrivalTime: number;
  /** Id for logs and tracing, unique within this server. */
  traceId: string;
  /** Aborted when the client goes away; work not yet started is then skipped. */
  signal?: AbortSignal;
  /**
   * Whether the client has gone away, as a cheap read: the scheduler polls it for every waiting
   * request whenever an instance is free to run one, where making each request's `signal` would cost far more (see
   * the HTTP adapter). Absent: the scheduler reads `signal`.
   */
  readonly cancelled?: boolean;
  /** Who sent it, as the adapter authenticated them; absent when the server has no tenants. */
  tenant?: TenantIdentity;
  /**
   * The inputs' numeric data lie in memory allocated for this request alone (its body, say),
   * which nothing reads once the request has been dispatched: the backend may then move that
   * memory rather than copy it. Absent: it is copied.
   */
  inputsMovable?: boolean;
}

/** A tenant as the core sees it: no keys, no protocol. */
export interface TenantIdentity {
  readonly name: string;
  /** Its share of a busy model against other tenants' (weighted fair queuing within a priority level). */
  readonly weight: number;
  /** Whether it may use and see the model; to it, models it may not use do not exist. */
  mayUse(model: string): boolean;
}

export interface InferResponse {
  id?: string;
  model: string;
  version: string;
  outputs: Tensor[];
  parameters?: Parameters;
}

/** Where the time of one request went, in ms; reported to metrics and statistics. */
export interface RequestTiming {
  queueMs: number;
  computeInputMs: number;
  computeInferMs: number;
  computeOutputMs: number;
}
