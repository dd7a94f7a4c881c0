/**
 * Per-request size limits the decoder enforces. The body size itself is fastify's
 * `bodyLimit`, set by whoever creates the app; these bound what a body may *expand* to,
 * since a short JSON header can declare a huge shape and BYTES data can hold many tiny elements.
 */
export interface Limits {
  /** Most elements one input tensor may have (product of its shape). */
  maxElementsPerTensor: number;
  /** Most elements all inputs of one request may have together. */
  maxElementsPerRequest: number;
}
