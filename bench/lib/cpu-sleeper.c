/*
 * The CPU-stop watcher's sleeper (bench/lib/vcpu-watch.ts compiles and starts it, one per CPU,
 * pinned and at real-time priority). It wakes every millisecond and prints one line,
 * "<epoch ms> <ms late>", for each wake-up more than argv[1] ms late. C, not a node script: a
 * node sleeper at real-time priority paused itself for 12 to 25 ms every 2 s (its own runtime's
 * work), which passed for stops and took the CPU from everything else meanwhile.
 * Exits when its stdin closes (its parent gone) or on SIGTERM.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  double late = argc > 1 ? atof(argv[1]) : 10;
  struct pollfd in = { .fd = 0, .events = POLLIN };
  double last = now_ms(CLOCK_MONOTONIC);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    // Sleeps 1 ms, or wakes at once when stdin closes or has data.
    if (poll(&in, 1, 1) > 0) {
      char buf[64];
      if (read(0, buf, sizeof buf) <= 0) return 0;
    }
    double now = now_ms(CLOCK_MONOTONIC);
    if (now - last - 1 > late) {
      printf("%.3f %.3f\n", now_ms(CLOCK_REALTIME) - (now - last), now - last - 1);
      fflush(stdout);
    }
    last = now;
  }
}
