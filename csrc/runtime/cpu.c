/* Which body of the small-product kernel this process runs; see fastnn_runtime.h. */
#include <stdlib.h>
#include <string.h>

#include "fastnn_kernels.h"
#include "fastnn_runtime.h"

/* 2: AVX-512, 1: AVX2 + FMA, 0: neither (or turned off). Decided once per process; threads
 * that race here compute and store the same value. */
static int step_level = -1;

static int select_level(void)
{
    int level = 0;
#ifdef FASTNN_STEP_GEMM_VECTOR
    const char *cap = getenv("FASTNN_STEP_GEMM");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        level = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        level = 1;
    if (cap != NULL && strcmp(cap, "off") == 0)
        level = 0;
    else if (cap != NULL && strcmp(cap, "avx2") == 0 && level > 1)
        level = 1;
#endif
    __atomic_store_n(&step_level, level, __ATOMIC_RELEASE);
    return level;
}

int fastnn_step_level(void)
{
    int level = __atomic_load_n(&step_level, __ATOMIC_ACQUIRE);
    return level >= 0 ? level : select_level();
}

/* Whether the kernel beats BLAS on a product with an m x n result, on this CPU. AVX-512:
 * at every size the callers send it (below BLAS's threaded size; recurrent steps).
 * AVX2: where BLAS's packing is not paid back, a result with a side of at most 64 and
 * at most 1024 columns, or of at most 2^14 values (one-thread GFLOP/s of kernel against
 * BLAS on a Zen 3 CPU: see bench/RESULTS.md, "step kernel against BLAS"). */
int fastnn_step_gemm_suits(ptrdiff_t m, ptrdiff_t n)
{
    switch (fastnn_step_level()) {
    case 2: return 1;
    case 1: return ((m <= 64 || n <= 64) && n <= 1024) || m * n <= 16384;
    default: return 0;
    }
}
