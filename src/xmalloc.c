/* Allocation that never returns NULL: out of memory is fatal. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* vasprintf */
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

/* Allocate size bytes. */
void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		size = 1;
	if ((p = malloc(size)) == NULL)
		fatal("xmalloc %zu bytes", size);
	return (p);
}

/* Allocate nmemb zeroed elements of size bytes. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("xcalloc %zu * %zu bytes", nmemb, size);
	return (p);
}

/* Resize p to size bytes. */
void *
xrealloc(void *p, size_t size)
{
	return (xreallocarray(p, 1, size));
}

/* Resize p to nmemb elements of size bytes, checking for overflow. */
void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	void	*np;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("xreallocarray: %zu * %zu overflows", nmemb, size);
	if ((np = realloc(p, nmemb * size)) == NULL)
		fatal("xreallocarray %zu * %zu bytes", nmemb, size);
	return (np);
}

/* Duplicate a string. */
char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return (p);
}

/* Duplicate at most n bytes of a string, always NUL-terminated. */
char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("xstrndup");
	return (p);
}

/* Print into a newly allocated string. */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 i;

	va_start(ap, fmt);
	i = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return (i);
}

/* Print into a newly allocated string, va_list form. */
int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	 i;

	i = vasprintf(ret, fmt, ap);
	if (i < 0 || *ret == NULL)
		fatal("xvasprintf");
	return (i);
}
