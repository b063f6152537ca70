/* SPDX-License-Identifier: MIT */
/*
 * authgate — which SIMD paths the library may take, and the one test hook
 * that narrows them (not installed, not API). Tests, fuzzers and the bench
 * include this header, and only this one, to run a portable twin beside
 * its SIMD original on the same input (`authgate-bench --isa`); the library
 * reads it through common_int.h. AG_PORTABLE builds compile no SIMD code
 * and report no features, so every restriction is then a no-op.
 */
#ifndef AUTHGATE_ISA_HOOK_H
#define AUTHGATE_ISA_HOOK_H

#include <stdint.h>

/* Where SIMD twins are compiled at all: x86-64 with gcc or clang, unless
 * the build is AG_PORTABLE (plain C only). Each twin's functions carry
 * their instruction sets as target attributes (AG__TARGET("avx2")), so no
 * file needs per-file compiler flags, and run only after ag__cpu_features()
 * reported them. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(AG_PORTABLE)
#define AG__X86_SIMD 1
#define AG__TARGET(isa) __attribute__((target(isa)))
#endif

/*
 * SIMD features of this CPU and OS that authgate uses (x86-64 only; 0
 * elsewhere and in AG_PORTABLE builds). Every accelerated loop has a
 * portable twin, chosen when its bit is absent.
 * @test tests/common/test_common.c
 */
enum { AG__CPU_AVX2 = 1u, AG__CPU_SHANI = 2u, AG__CPU_SSE2 = 4u, AG__CPU_ALL = 7u };
unsigned ag__cpu_features(void);
/* The test hook: pretend the CPU has at most the features in mask
 * (AG__CPU_ALL restores detection). Not for use while other threads verify. */
void ag__cpu_restrict(unsigned mask);

#endif
