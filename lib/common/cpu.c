/* SPDX-License-Identifier: MIT */
/*
 * authgate — which SIMD instructions this CPU and OS offer, detected once.
 *
 * The token hot path has x86-64 variants of a few loops (base64url,
 * b64token classification, SHA-256 with the SHA extensions); each keeps a
 * portable C twin that is always compiled and tested. Callers ask
 * ag__cpu_features() per call: one relaxed atomic load.
 */
#include <stdatomic.h>

#include "common_int.h"

#ifdef AG__X86_SIMD /* AG_PORTABLE builds report no features */
#include <cpuid.h>
#define AG_CPU_X86 1
#endif

#define DETECTED 0x80000000u

static atomic_uint detected; /* DETECTED | AG__CPU_* once known */
static atomic_uint allowed = ATOMIC_VAR_INIT(AG__CPU_ALL);

#ifdef AG_CPU_X86
static unsigned detect(void)
{
    unsigned a, b, c, d, f = AG__CPU_SSE2; /* part of x86-64 */
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return f;
    const bool ssse3 = (c >> 9) & 1u, sse41 = (c >> 19) & 1u, osxsave = (c >> 27) & 1u,
               avx = (c >> 28) & 1u;
    bool ymm = false;
    if (osxsave && avx) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        ymm = (lo & 6u) == 6u; /* the OS saves XMM and YMM state */
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (ymm && ((b >> 5) & 1u))
            f |= AG__CPU_AVX2;
        if (ssse3 && sse41 && ((b >> 29) & 1u))
            f |= AG__CPU_SHANI;
    }
    return f;
}
#else
static unsigned detect(void)
{
    return 0;
}
#endif

unsigned ag__cpu_features(void)
{
    unsigned d = atomic_load_explicit(&detected, memory_order_relaxed);
    if (d == 0) {
        d = DETECTED | detect();
        atomic_store_explicit(&detected, d, memory_order_relaxed);
    }
    return d & atomic_load_explicit(&allowed, memory_order_relaxed) & AG__CPU_ALL;
}

void ag__cpu_restrict(unsigned mask)
{
    atomic_store_explicit(&allowed, mask & AG__CPU_ALL, memory_order_relaxed);
}
