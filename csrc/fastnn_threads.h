/* Two-way fork/join for the recurrent time loops (csrc/threads.c).
 *
 * fastnn_run_halves(fn, ctx, n, mid) runs fn(ctx, 0, mid) on the calling thread
 * and fn(ctx, mid, n) on a second thread, and returns when both are done. The
 * second half is claimed with an atomic flag: if the new thread has not started
 * by the time the caller finishes its half (the other core is busy), the caller
 * runs that half itself, so a loaded machine costs about the single-threaded
 * time instead of a wait. Returns 1 when a thread was started, 0 when both halves
 * ran on the caller (thread creation failed or the platform has no pthreads). */
#ifndef FASTNN_THREADS_H
#define FASTNN_THREADS_H

#include <stddef.h>

typedef void (*fastnn_range_fn)(void *ctx, ptrdiff_t lo, ptrdiff_t hi);

int fastnn_run_halves(fastnn_range_fn fn, void *ctx, ptrdiff_t n, ptrdiff_t mid);

#endif
