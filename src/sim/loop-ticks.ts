/**
 * How an event loop is watched for stalls, by the probe preloaded into a server
 * (loop-probe.ts) and by the fidelity bench watching its own loop, the load generator's. Kept
 * apart from the probe, which arms itself on import, so that the bench can share the figures.
 */

/** The timer's period, ms: short enough to see stalls of a few ms, long enough to cost the loop little (500 wake-ups/s). */
export const TICK_MS = 2;
/** A gap longer than the period by more than this is a stall, ms. */
export const LATE_MS = 3;
