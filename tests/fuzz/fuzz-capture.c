/*
 * The capture line reader: the fast path (capture-fast.c) and jansson's
 * (json_loadb and exchange_from_json) must read a line the same way.
 * Every line the fast path takes, jansson's takes too, and both give an
 * exchange that writes back (exchange_to_line) as the same line.
 */

#include <string.h>

#include <jansson.h>

#include "paritytap.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz-capture");
	log_quiet = 1;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exchange	 fast, slow;
	json_error_t	 err;
	json_t		*obj;
	char		*why = NULL, *a, *b;

	/* The reader splits lines at '\n': a line never holds one. */
	if (memchr(data, '\n', size) != NULL)
		return (0);
	exchange_init(&fast, NULL);
	if (capture_fast_read((const char *)data, size, &fast) != 0) {
		exchange_free(&fast);
		return (0);
	}
	obj = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &err);
	if (obj == NULL)
		fuzz_fail("the fast reader took a line jansson refuses: %s "
		    "(column %d)", err.text, err.column);
	exchange_init(&slow, NULL);
	if (exchange_from_json(obj, &slow, &why) != 0)
		fuzz_fail("the fast reader took a line exchange_from_json "
		    "refuses: %s", why);
	json_decref(obj);

	a = exchange_to_line(&fast, NULL);
	b = exchange_to_line(&slow, NULL);
	if (strcmp(a, b) != 0)
		fuzz_fail("the two readers differ:\nfast:    %s\njansson: %s",
		    a, b);
	free(a);
	free(b);
	exchange_free(&fast);
	exchange_free(&slow);
	return (0);
}
