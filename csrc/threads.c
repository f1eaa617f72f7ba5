/* Two-way fork/join with stealing; see fastnn_threads.h for the contract.
 *
 * Why not OpenMP: libgomp keeps its threads spinning after a parallel region and
 * they starved OpenBLAS's own threads (784-512-512-10 step: 6 ms -> 55 ms, see
 * fastnn_math.h). A thread created per call costs tens of microseconds, nothing
 * next to a time loop of milliseconds, and leaves no thread behind. */
#include "fastnn_threads.h"

#if defined(_WIN32)

int fastnn_run_halves(fastnn_range_fn fn, void *ctx, ptrdiff_t n, ptrdiff_t mid)
{
    fn(ctx, 0, mid);
    fn(ctx, mid, n);
    return 0;
}

#else

#include <pthread.h>

struct half_job {
    fastnn_range_fn fn;
    void *ctx;
    ptrdiff_t lo, hi;
    int claimed; /* 0 until someone takes the half; read and set atomically */
};

static int claim(struct half_job *job)
{
    return __atomic_exchange_n(&job->claimed, 1, __ATOMIC_ACQ_REL) == 0;
}

static void *run_job(void *arg)
{
    struct half_job *job = arg;
    if (claim(job))
        job->fn(job->ctx, job->lo, job->hi);
    return NULL;
}

int fastnn_run_halves(fastnn_range_fn fn, void *ctx, ptrdiff_t n, ptrdiff_t mid)
{
    struct half_job job = {fn, ctx, mid, n, 0};
    pthread_t thread;
    int started = pthread_create(&thread, NULL, run_job, &job) == 0;
    fn(ctx, 0, mid);
    if (claim(&job)) /* the thread has not begun (or never will): run it here */
        fn(ctx, mid, n);
    if (started)
        pthread_join(thread, NULL);
    return started;
}

#endif
