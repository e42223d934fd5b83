/*
 * pcapmangle: rewrite a pcap the way a bad network or a busy capture
 * would, for the import tests.
 *
 *	pcapmangle [--shuffle] [--dup] [--drop N] [--vlan] IN OUT
 *
 * Only TCP segments that carry data and no SYN, FIN or RST are touched,
 * and only within a run of such segments (no control segment moves), so
 * the connections keep their shape.  --shuffle reorders each run of
 * three such segments (a b c -> c a b); --dup writes every fourth one
 * twice, the copy after the next segment; --drop N leaves out the N-th
 * (from 1); --vlan puts an 802.1Q tag (VLAN 42) in every Ethernet
 * frame.  Each packet keeps its own timestamp.  Link types:
 * Ethernet, Linux cooked (v1, v2), raw IP, BSD loopback.
 *
 * Exit status: 0, or 1 with a message.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

struct pkt {
	struct pcap_pkthdr	 h;
	u_char			*data;
	int			 is_data;
};

/* Exit with a message. */
static void
die(const char *msg, const char *detail)
{
	fprintf(stderr, "pcapmangle: %s%s%s\n", msg, detail ? ": " : "",
	    detail ? detail : "");
	exit(1);
}

/* Does the frame hold a TCP segment with data and no SYN, FIN or RST? */
static int
is_data_segment(int dlt, const u_char *p, size_t len)
{
	size_t		 off, ihl, thl, iplen;
	unsigned	 type;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return (0);
		type = (p[12] << 8) | p[13];
		off = 14;
		if (type == 0x8100 && len >= 18) {
			type = (p[16] << 8) | p[17];
			off = 18;
		}
		if (type != 0x0800 && type != 0x86dd)
			return (0);
		break;
	case DLT_LINUX_SLL:
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		off = 4;
		break;
	default:
		off = 0;
		break;
	}
	if (len < off + 40)
		return (0);
	p += off;
	len -= off;
	if ((p[0] >> 4) == 4) {
		ihl = (size_t)(p[0] & 0x0f) * 4;
		iplen = ((size_t)p[2] << 8) | p[3];
		if (p[9] != 6 || ihl < 20 || iplen > len || iplen < ihl + 20)
			return (0);
	} else if ((p[0] >> 4) == 6) {
		ihl = 40;
		iplen = 40 + (((size_t)p[4] << 8) | p[5]);
		if (p[6] != 6 || iplen > len || iplen < ihl + 20)
			return (0);
	} else
		return (0);
	thl = (size_t)(p[ihl + 12] >> 4) * 4;
	if (p[ihl + 13] & 0x07)		/* FIN, SYN, RST */
		return (0);
	return (iplen > ihl + thl);
}

static int	 vlan;

/* Write one packet (tagged, with --vlan). */
static void
put(pcap_dumper_t *d, const struct pkt *k)
{
	static u_char		 tagged[262144 + 4];
	struct pcap_pkthdr	 h = k->h;

	if (!vlan || h.caplen < 14 || h.caplen > sizeof tagged - 4) {
		pcap_dump((u_char *)d, &k->h, k->data);
		return;
	}
	memcpy(tagged, k->data, 12);
	memcpy(tagged + 12, "\x81\x00\x00\x2a", 4);
	memcpy(tagged + 16, k->data + 12, h.caplen - 12);
	h.caplen += 4;
	h.len += 4;
	pcap_dump((u_char *)d, &h, tagged);
}

int
main(int argc, char **argv)
{
	char		 err[PCAP_ERRBUF_SIZE];
	struct pkt	*v = NULL, *run[3], *dup = NULL;
	struct pcap_pkthdr *h;
	const u_char	*data;
	pcap_t		*in;
	pcap_dumper_t	*out;
	size_t		 n = 0, cap = 0, i, nrun = 0, ndata = 0, drop = 0;
	int		 shuffle = 0, dupl = 0, rc, a = 1, dlt;

	for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
		if (strcmp(argv[a], "--shuffle") == 0)
			shuffle = 1;
		else if (strcmp(argv[a], "--dup") == 0)
			dupl = 1;
		else if (strcmp(argv[a], "--drop") == 0 && a + 1 < argc)
			drop = strtoul(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--vlan") == 0)
			vlan = 1;
		else
			die("usage: pcapmangle [--shuffle] [--dup] [--drop N] "
			    "[--vlan] IN OUT", NULL);
	}
	if (argc - a != 2)
		die("usage: pcapmangle [--shuffle] [--dup] [--drop N] [--vlan] "
		    "IN OUT", NULL);
	if ((in = pcap_open_offline(argv[a], err)) == NULL)
		die(argv[a], err);
	dlt = pcap_datalink(in);
	while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((v = realloc(v, cap * sizeof *v)) == NULL)
				die("out of memory", NULL);
		}
		v[n].h = *h;
		if ((v[n].data = malloc(h->caplen + 1)) == NULL)
			die("out of memory", NULL);
		memcpy(v[n].data, data, h->caplen);
		v[n].is_data = is_data_segment(dlt, data, h->caplen);
		n++;
	}
	if (rc != PCAP_ERROR_BREAK)
		die(argv[a], pcap_geterr(in));
	if ((out = pcap_dump_open(in, argv[a + 1])) == NULL)
		die(argv[a + 1], pcap_geterr(in));

	for (i = 0; i <= n; i++) {
		if (i < n && v[i].is_data) {
			if (++ndata == drop)
				continue;
			run[nrun++] = &v[i];
			if (dupl && ndata % 4 == 0)
				dup = &v[i];
			else if (nrun < 3)
				continue;
		}
		/* A control segment, the end, a full run or a copy due. */
		if (shuffle && nrun == 3) {
			put(out, run[2]);
			put(out, run[0]);
			put(out, run[1]);
		} else {
			for (a = 0; a < (int)nrun; a++)
				put(out, run[a]);
		}
		nrun = 0;
		/* The copy goes out late, but before any control segment. */
		if (dup != NULL && (i == n || !v[i].is_data || dup != &v[i])) {
			put(out, dup);
			dup = NULL;
		}
		if (i < n && !v[i].is_data)
			put(out, &v[i]);
	}
	pcap_dump_close(out);
	pcap_close(in);
	for (i = 0; i < n; i++)
		free(v[i].data);
	free(v);
	return (0);
}
