/* Two-thread fork/join for the recurrent loops, their big products, the dense layers'
 * mid-sized products and the optimizer update (csrc/threads.c).
 *
 * fastnn_run_parts(fn, ctx, n, parts) cuts [0, n) into `parts` near-equal ranges and
 * runs fn(ctx, lo, hi) on each, from the calling thread and one persistent helper
 * thread, and returns when all are done. Each thread claims the next unclaimed range
 * (an atomic counter), so when the other core is busy or the machine takes it away for a
 * while, the caller runs the ranges the other thread has not claimed: the worst case
 * is about the single-threaded time plus one range, not a wait for a stalled thread.
 * Returns 1 when the helper ran at least one range, 0 when every range ran on the
 * caller (the helper was busy with another caller's job or asleep past the end,
 * thread creation failed, or the platform has no pthreads). Call it through
 * _blas.run_parts: the helper must be one per process. */
#ifndef FASTNN_THREADS_H
#define FASTNN_THREADS_H

#include <stddef.h>

typedef void (*fastnn_range_fn)(void *ctx, ptrdiff_t lo, ptrdiff_t hi);

int fastnn_run_parts(fastnn_range_fn fn, void *ctx, ptrdiff_t n, int parts);

#endif
