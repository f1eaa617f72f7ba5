/* The process-wide runtime of the compiled kernels: the one helper thread, the switch that
 * holds OpenBLAS to one thread, and the choice of the small-product kernel's body.
 *
 * Every function here keeps state that must exist once per process, so these files are
 * compiled into one extension module only (fastnn/backend/compiled/_parallel.pyx); the
 * other modules reach them through its cdef functions (_parallel.pxd). The policy that
 * decides when to use them (thresholds, modes) lives in _parallel.pyx as well. */
#ifndef FASTNN_RUNTIME_H
#define FASTNN_RUNTIME_H

#include <stddef.h>

/* ---- threads.c --------------------------------------------------------------
 * fastnn_run_parts(fn, ctx, n, parts) cuts [0, n) into `parts` near-equal ranges and
 * runs fn(ctx, lo, hi) on each, from the calling thread and one persistent helper
 * thread, and returns when all are done. Each thread claims the next unclaimed range
 * (an atomic counter), so when the other core is busy or the machine takes it away for a
 * while, the caller runs the ranges the other thread has not claimed: the worst case
 * is about the single-threaded time plus one range, not a wait for a stalled thread.
 * Returns 1 when the helper ran at least one range, 0 when every range ran on the
 * caller (the helper was busy with another caller's job or asleep past the end,
 * thread creation failed, or the platform has no pthreads). */
typedef void (*fastnn_range_fn)(void *ctx, ptrdiff_t lo, ptrdiff_t hi);

int fastnn_run_parts(fastnn_range_fn fn, void *ctx, ptrdiff_t n, int parts);

/* ---- blas_threads.c ---------------------------------------------------------
 * fastnn_find_blas_symbol(sgemm, name): `name` (or "scipy_" + name) in the library that
 * holds scipy's sgemm, NULL when absent (not OpenBLAS, or older than the symbol).
 * fastnn_one_thread_enter/leave(set_threads): nested, thread-safe switch of that BLAS to
 * one thread and back (set_threads: its openblas_set_num_threads_local). */
void *fastnn_find_blas_symbol(void *sgemm_ptr, const char *name);
void fastnn_one_thread_enter(int (*set_threads)(int));
void fastnn_one_thread_leave(int (*set_threads)(int));

/* ---- cpu.c ------------------------------------------------------------------
 * fastnn_step_level(): the body of the small-product kernel (csrc/kernels/stepgemm.c) this
 * process uses: 2 AVX-512, 1 AVX2 + FMA, 0 none (BLAS instead). FASTNN_STEP_GEMM=avx2 in
 * the environment caps it at AVX2 (to test that path on an AVX-512 CPU), =off sets 0.
 * fastnn_step_gemm_suits(m, n): whether that body beats BLAS on an m x n result. */
int fastnn_step_level(void);
int fastnn_step_gemm_suits(ptrdiff_t m, ptrdiff_t n);

#endif
