import type { Clock } from '../core/clock.js';
import { rearm } from './step.js';

/**
 * The one wake-up timer a scheduler keeps: armed for the earliest time a plan asked to be
 * looked at again since it last fired (`rearm` decides), then it calls `fire`. The I/O half of
 * `rearm`, shared by the schedulers so that they arm it the same way.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;

  /** `holdsProcess` false: the timer alone does not keep the process alive (an idle sequence's expiry, say). */
  constructor(private readonly clock: Clock, private readonly fire: () => void, private readonly holdsProcess = true) {}

  arm(at: number | undefined): void {
    if (!rearm(this.armedAt, at)) return;
    clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => {
      this.armedAt = Infinity;
      this.timer = undefined;
      this.fire();
    }, Math.max(0, at - this.clock.now()));
    if (!this.holdsProcess) this.timer.unref();
  }
}
