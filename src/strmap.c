/*
 * A chained hash map from strings to pointers: the report's routes and
 * signatures, the drift table.  Keys are copied and owned by the map,
 * values are the caller's.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paritytap.h"

struct strmap_ent {
	char			*key;
	void			*value;
	struct strmap_ent	*next;
};

/* The map. */
struct strmap {
	struct strmap_ent	**buckets;
	size_t			  nbuckets;
	size_t			  n;
};

/* Hash a string, FNV-1a. */
size_t
strmap_hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return ((size_t)h);
}

/* Create an empty map. */
struct strmap *
strmap_new(void)
{
	struct strmap	*m;

	m = xcalloc(1, sizeof *m);
	m->nbuckets = 64;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	return (m);
}

/* Return the value stored under key, or NULL. */
void *
strmap_get(struct strmap *m, const char *key)
{
	struct strmap_ent	*e;

	e = m->buckets[strmap_hash(key) & (m->nbuckets - 1)];
	for (; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0)
			return (e->value);
	}
	return (NULL);
}

/* Store value under key (which must not be there yet). */
void
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_ent	**nb, *e, *next;
	size_t			  i, n, h;

	if (m->n >= m->nbuckets) {
		n = m->nbuckets * 2;
		nb = xcalloc(n, sizeof *nb);
		for (i = 0; i < m->nbuckets; i++) {
			for (e = m->buckets[i]; e != NULL; e = next) {
				next = e->next;
				h = strmap_hash(e->key) & (n - 1);
				e->next = nb[h];
				nb[h] = e;
			}
		}
		free(m->buckets);
		m->buckets = nb;
		m->nbuckets = n;
	}
	e = xmalloc(sizeof *e);
	e->key = xstrdup(key);
	e->value = value;
	h = strmap_hash(key) & (m->nbuckets - 1);
	e->next = m->buckets[h];
	m->buckets[h] = e;
	m->n++;
}

/* Free a map (not the values). */
void
strmap_free(struct strmap *m)
{
	struct strmap_ent	*e, *next;
	size_t			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}
