/* The switch that holds scipy's OpenBLAS to one thread for small products; see
 * fastnn_runtime.h. Its counter must be one per process: compiled into _parallel only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#endif

#include "fastnn_runtime.h"

#if defined(__linux__) || defined(__APPLE__)
/* A symbol (openblas_set_num_threads_local, openblas_get_num_threads) of the
 * library that holds scipy's sgemm; NULL when that BLAS is not an OpenBLAS that
 * has it (the first needs 0.3.27 or newer). */
void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name) {
    Dl_info info;
    void *handle, *sym;
    char prefixed[128];
    if (!dladdr(sgemm_ptr, &info) || !info.dli_fname) return NULL;
    handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (!handle) return NULL;
    sym = dlsym(handle, name);
    /* scipy's own OpenBLAS build prefixes most of its symbols with "scipy_" */
    if (!sym && snprintf(prefixed, sizeof prefixed, "scipy_%s", name) < (int)sizeof prefixed)
        sym = dlsym(handle, prefixed);
    return sym;
}
/* Despite its name, openblas_set_num_threads_local sets OpenBLAS's process-wide
 * thread count (0.3.30: a call from one thread changes what another sees), so
 * the switch to one thread is shared: the first small product to start sets 1
 * and keeps the old count, the last to finish puts it back. Without the count,
 * two threads interleaving their saves and restores could leave BLAS on one
 * thread for good. */
static pthread_mutex_t fastnn_threads_lock = PTHREAD_MUTEX_INITIALIZER;
static int fastnn_small_depth = 0, fastnn_saved_threads = 0;
static int (*fastnn_setter)(int) = NULL;

/* fork(): the lock is held across it (prepare / parent), so the child's copy is never
 * taken mid-update; in the child the threads that were inside a one-thread region did not
 * come along, so none is: the count they saved is put back (else the child's BLAS would
 * stay on one thread for good, or its first small product would wait on a lock no
 * thread will release). */
static void blas_prepare(void) { pthread_mutex_lock(&fastnn_threads_lock); }
static void blas_parent(void) { pthread_mutex_unlock(&fastnn_threads_lock); }
static void blas_child(void)
{
    pthread_mutex_init(&fastnn_threads_lock, NULL);
    if (fastnn_small_depth > 0 && fastnn_setter) fastnn_setter(fastnn_saved_threads);
    fastnn_small_depth = 0;
}
static pthread_once_t blas_atfork_once = PTHREAD_ONCE_INIT;
static void blas_register_atfork(void) { pthread_atfork(blas_prepare, blas_parent, blas_child); }

void fastnn_one_thread_enter(int (*set_threads)(int)) {
    pthread_once(&blas_atfork_once, blas_register_atfork);
    pthread_mutex_lock(&fastnn_threads_lock);
    fastnn_setter = set_threads;
    if (fastnn_small_depth++ == 0) fastnn_saved_threads = set_threads(1);
    pthread_mutex_unlock(&fastnn_threads_lock);
}
void fastnn_one_thread_leave(int (*set_threads)(int)) {
    pthread_mutex_lock(&fastnn_threads_lock);
    if (--fastnn_small_depth == 0) set_threads(fastnn_saved_threads);
    pthread_mutex_unlock(&fastnn_threads_lock);
}
#else
void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name) {
    (void)sgemm_ptr; (void)name; return NULL;
}
/* never called: no symbol is found on these platforms */
void fastnn_one_thread_enter(int (*set_threads)(int)) { (void)set_threads; }
void fastnn_one_thread_leave(int (*set_threads)(int)) { (void)set_threads; }
#endif
