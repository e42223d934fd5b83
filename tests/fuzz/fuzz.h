/*
 * What the libFuzzer targets share: the entry points libFuzzer calls and
 * the way a broken property is reported (a message, then abort, which
 * libFuzzer records as a crash and saves the input of).
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Say which property broke and how, then crash. */
#define fuzz_fail(...) do {						\
	fprintf(stderr, "fuzz: " __VA_ARGS__);				\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

#endif
