// SPDX-License-Identifier: MIT
/* Compiler attributes and small helpers shared by every module. */
#ifndef CORE_COMPILER_H
#define CORE_COMPILER_H

/** The caller must look at the return value (constructors, fallible calls). */
#define CORE_MUST_CHECK __attribute__((warn_unused_result))
/** printf-style format checking: fmt is argument a, the variadic list starts at b. */
#define CORE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CORE_NORETURN     __attribute__((noreturn))
#define CORE_UNUSED       __attribute__((unused))

#define CORE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CORE_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define CORE_MAX(a, b)     ((a) > (b) ? (a) : (b))

#endif
