/* Two-thread fork/join for the recurrent loops and their big products (csrc/threads.c).
 *
 * fastnn_run_parts(fn, ctx, n, parts) cuts [0, n) into `parts` near-equal ranges and
 * runs fn(ctx, lo, hi) on each, from the calling thread and one more thread, and
 * returns when all are done. Each thread claims the next unclaimed range (an atomic
 * counter), so when the other core is busy or the machine takes it away for a
 * while, the caller runs the ranges the other thread has not claimed: the worst case
 * is about the single-threaded time plus one range, not a wait for a stalled thread.
 * Returns 1 when a second thread was started, 0 when every range ran on the caller
 * (thread creation failed or the platform has no pthreads). */
#ifndef FASTNN_THREADS_H
#define FASTNN_THREADS_H

#include <stddef.h>

typedef void (*fastnn_range_fn)(void *ctx, ptrdiff_t lo, ptrdiff_t hi);

int fastnn_run_parts(fastnn_range_fn fn, void *ctx, ptrdiff_t n, int parts);

#endif
