/* Two-thread fork/join with ranges claimed on demand; see fastnn_runtime.h.
 *
 * Why not OpenMP: libgomp keeps its threads spinning after a parallel region and
 * they starved OpenBLAS's own threads (bench/RESULTS.md, "Scheduling policy").
 *
 * Why a persistent helper rather than a thread per call: creating and joining a
 * thread costs tens of microseconds, as much as a whole 784-64-64-10 training step's
 * first-layer product. The helper waits for the next job by yielding the core for
 * FASTNN_SPIN_NS after its last one (sched_yield: anything else runnable on that
 * core, OpenBLAS's threads included, gets it at once), then sleeps on a condition
 * variable. A training step posts its jobs microseconds apart, so they find the
 * helper awake; between steps it costs nothing.
 *
 * Only one job runs at a time: a caller that finds the helper busy (another Python
 * thread is inside a split) runs all its ranges itself. The caller never waits for a
 * helper that has not started on its job: once its own ranges are done it takes the
 * job back (a compare-and-swap on the ticket) unless the helper already took it, and
 * then it waits for at most the range the helper is running (plus, when the helper
 * lost its core right after taking the job, until it gets one back: it then finds
 * no range left).
 *
 * Only one copy of this state may exist per process: setup.py compiles this file into
 * _parallel alone, and the other extension modules reach it through _parallel.run_parts. */
#include "fastnn_runtime.h"

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
#include <sched.h>
#include <signal.h>
#include <time.h>

/* How long the helper stays awake after a job: long enough for the next job of the same
 * training step to find it awake (bench/RESULTS.md, "Scheduling policy"). */
#define FASTNN_SPIN_NS 200000L

/* The ticket: (sequence << 2) | state. Only a caller holding `busy` posts (bumps the
 * sequence, state POSTED); the helper moves POSTED -> TAKEN -> IDLE, the caller
 * POSTED -> IDLE when it takes the job back. */
enum { T_IDLE = 0, T_POSTED = 1, T_TAKEN = 2 };

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;      /* one job at a time */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER; /* with wake_cond */
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static unsigned long ticket = 0;
static struct parts_job *posted = NULL; /* written before the ticket that posts it */
static int sleeping = 0;                /* under wake_lock */
static int helper_state = 0;            /* under busy: 0 not started, 1 running, -1 failed */

static int is_new_post(unsigned long t, unsigned long seen)
{
    return (t & 3) == T_POSTED && (t >> 2) != seen;
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000000000L + (t1.tv_nsec - t0->tv_nsec);
}

/* The next posted ticket whose sequence is not `seen`. */
static unsigned long wait_for_post(unsigned long seen)
{
    struct timespec t0;
    unsigned long t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1;; i++) {
        t = __atomic_load_n(&ticket, __ATOMIC_ACQUIRE);
        if (is_new_post(t, seen))
            return t;
        if ((i & 63) == 0 && elapsed_ns(&t0) > FASTNN_SPIN_NS)
            break;
        sched_yield();
    }
    pthread_mutex_lock(&wake_lock);
    sleeping = 1;
    while (!is_new_post(t = __atomic_load_n(&ticket, __ATOMIC_ACQUIRE), seen))
        pthread_cond_wait(&wake_cond, &wake_lock);
    sleeping = 0;
    pthread_mutex_unlock(&wake_lock);
    return t;
}

static void *helper_main(void *unused)
{
    (void)unused;
    unsigned long seen = 0;
    for (;;) {
        unsigned long t = wait_for_post(seen);
        seen = t >> 2;
        /* take it unless the caller already took it back */
        if (__atomic_compare_exchange_n(&ticket, &t, (t & ~3UL) | T_TAKEN, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            run_claimed(posted);
            __atomic_store_n(&ticket, (t & ~3UL) | T_IDLE, __ATOMIC_RELEASE);
        }
    }
    return NULL;
}

/* In a child of fork() the helper does not exist: start from scratch. */
static void after_fork_child(void)
{
    pthread_mutex_init(&busy, NULL);
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&wake_cond, NULL);
    ticket = 0;
    posted = NULL;
    sleeping = 0;
    helper_state = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static int start_helper(void)
{
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all, old;
    if (helper_state)
        return helper_state > 0;
    helper_state = -1;
    /* before the thread exists: a fork from another thread at any later point finds
     * the handler in place */
    pthread_once(&atfork_once, register_atfork);
    if (pthread_attr_init(&attr) != 0)
        return 0;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* the helper blocks every signal, so process-directed ones (Ctrl-C) reach Python's
     * threads, never it */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&thread, &attr, helper_main, NULL) == 0)
        helper_state = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return helper_state > 0;
}

int fastnn_run_parts(fastnn_range_fn fn, void *ctx, ptrdiff_t n, int parts)
{
    struct parts_job job = {fn, ctx, n, parts < 1 ? 1 : parts, 0};
    if (parts < 2 || pthread_mutex_trylock(&busy) != 0) {
        run_claimed(&job);
        return 0;
    }
    if (!start_helper()) {
        pthread_mutex_unlock(&busy);
        run_claimed(&job);
        return 0;
    }
    unsigned long seq = (__atomic_load_n(&ticket, __ATOMIC_ACQUIRE) >> 2) + 1;
    unsigned long t = (seq << 2) | T_POSTED;
    posted = &job;
    pthread_mutex_lock(&wake_lock);
    __atomic_store_n(&ticket, t, __ATOMIC_RELEASE);
    if (sleeping)
        pthread_cond_signal(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
    run_claimed(&job);
    int helped = !__atomic_compare_exchange_n(&ticket, &t, (seq << 2) | T_IDLE, 0,
                                              __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    if (helped) /* taken: wait for the helper to finish the range it claimed */
        while (__atomic_load_n(&ticket, __ATOMIC_ACQUIRE) != ((seq << 2) | T_IDLE))
            sched_yield();
    posted = NULL;
    pthread_mutex_unlock(&busy);
    return helped;
}

#endif
