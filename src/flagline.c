/*
 * Flag lines: each divergent exchange prints one DIVERGE line on stderr
 * as it completes (DESIGN §5), a pipeline consumer.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

/* Print the flag line of a divergent exchange. */
static void
flagline_on_exchange(void *arg, const struct exchange *ex)
{
	const int	*color = arg;
	char		*line;

	if (!verdict_is_divergence(ex->ex_verdict))
		return;
	line = exchange_flag_line(ex, *color);
	/* One write per line: stderr is unbuffered. */
	fprintf(stderr, "%s\n", line);
	free(line);
}

/* Flag lines as a pipeline consumer; color points at 0 or 1. */
void
flagline_consumer(const int *color, struct consumer *c)
{
	memset(c, 0, sizeof *c);
	c->name = "flags";
	c->on_exchange = flagline_on_exchange;
	c->arg = (void *)color;
}
