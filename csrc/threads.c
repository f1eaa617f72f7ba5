/* Two-thread fork/join with ranges claimed on demand; see fastnn_threads.h.
 *
 * Why not OpenMP: libgomp keeps its threads spinning after a parallel region and
 * they starved OpenBLAS's own threads (784-512-512-10 step: 6 ms -> 55 ms, see
 * fastnn_math.h). A thread created per call costs tens of microseconds, nothing
 * next to a time loop of milliseconds, and leaves no thread behind. */
#include "fastnn_threads.h"

struct parts_job {
    fastnn_range_fn fn;
    void *ctx;
    ptrdiff_t n;
    int parts;
    int next; /* the next unclaimed range; read and bumped atomically */
};

static void run_claimed(struct parts_job *job)
{
    for (;;) {
        int p = __atomic_fetch_add(&job->next, 1, __ATOMIC_ACQ_REL);
        if (p >= job->parts)
            return;
        ptrdiff_t lo = job->n * p / job->parts, hi = job->n * (p + 1) / job->parts;
        if (hi > lo)
            job->fn(job->ctx, lo, hi);
    }
}

#if defined(_WIN32)

int fastnn_run_parts(fastnn_range_fn fn, void *ctx, ptrdiff_t n, int parts)
{
    struct parts_job job = {fn, ctx, n, parts, 0};
    run_claimed(&job);
    return 0;
}

#else

#include <pthread.h>

static void *thread_main(void *arg)
{
    run_claimed(arg);
    return NULL;
}

int fastnn_run_parts(fastnn_range_fn fn, void *ctx, ptrdiff_t n, int parts)
{
    struct parts_job job = {fn, ctx, n, parts, 0};
    pthread_t thread;
    int started = pthread_create(&thread, NULL, thread_main, &job) == 0;
    run_claimed(&job);
    if (started)
        pthread_join(thread, NULL);
    return started;
}

#endif
