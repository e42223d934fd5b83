/*
 * paritytap: main(), the command table and dispatch.
 */

#include <stdlib.h>
#include <string.h>

#include "paritytap.h"
#include "config.h"

static const struct cmd_entry *cmd_table[] = {
	&cmd_diff_entry,
	&cmd_proxy_entry,
	&cmd_replay_entry,
	&cmd_report_entry,
	&cmd_noise_entry,
	&cmd_rejudge_entry,
	&cmd_import_entry,
	&cmd_export_entry,
	&cmd_sniff_entry,
	&cmd_record_entry,
	NULL
};

/* Print the command table. */
static void
usage(FILE *f)
{
	const struct cmd_entry	**ce;

	fprintf(f, "usage: paritytap COMMAND [OPTIONS] [ARGS]\n"
	    "       paritytap --version\n"
	    "       paritytap help COMMAND\n\n"
	    "Records a service's primary and candidate implementations side "
	    "by side and\nflags where their answers diverge.\n\n"
	    "Commands:\n");
	for (ce = cmd_table; *ce != NULL; ce++)
		fprintf(f, "  %-10s %s\n", (*ce)->name, (*ce)->summary);
	fprintf(f, "\nRun 'paritytap help COMMAND' for a command's options; "
	    "see paritytap(1).\n");
}

/* Look up a command entry by name. */
static const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry	**ce;

	for (ce = cmd_table; *ce != NULL; ce++) {
		if (strcmp((*ce)->name, name) == 0)
			return (*ce);
	}
	return (NULL);
}

int
main(int argc, char **argv)
{
	const struct cmd_entry	*ce;

	log_init("paritytap");
	if (argc < 2) {
		usage(stderr);
		return (EXIT_USAGE);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("paritytap %s\n", PACKAGE_VERSION);
		return (EXIT_OK);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return (EXIT_OK);
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return (EXIT_OK);
		}
		if ((ce = cmd_find(argv[2])) == NULL) {
			fprintf(stderr, "paritytap: unknown command '%s'\n",
			    argv[2]);
			usage(stderr);
			return (EXIT_USAGE);
		}
		ce->help(stdout);
		return (EXIT_OK);
	}
	if ((ce = cmd_find(argv[1])) == NULL) {
		fprintf(stderr, "paritytap: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return (EXIT_USAGE);
	}
	return (ce->exec(argc - 1, argv + 1));
}
