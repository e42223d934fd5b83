/*
 * pcapmangle: rewrite a pcap the way a bad network or a busy capture
 * would, for the import tests.
 *
 *	pcapmangle [--shuffle] [--dup] [--drop N] [--vlan]
 *	    [--ts N:SEC:USEC]... [--pcapng [--tsoffset SECS]] IN OUT
 *
 * Only TCP segments that carry data and no SYN, FIN or RST are touched,
 * and only within a run of such segments (no control segment moves), so
 * the connections keep their shape.  --shuffle reorders each run of
 * three such segments (a b c -> c a b); --dup writes every fourth one
 * twice, the copy after the next segment; --drop N leaves out the N-th
 * (from 1); --vlan puts an 802.1Q tag (VLAN 42) in every Ethernet
 * frame.  Each packet keeps its own timestamp, but for --ts: the N-th
 * packet read (from 1) gets SEC and USEC, which may be out of range (a
 * classic pcap stores each as 32 bits, signed as libpcap reads them).
 * --pcapng writes pcapng (one interface, microsecond times, 64 bits
 * of them) instead of pcap; --tsoffset adds the interface's if_tsoffset
 * option, SECS added to every time as a reader reads it.  Link types:
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

#define USAGE	"usage: pcapmangle [--shuffle] [--dup] [--drop N] [--vlan] " \
		"[--ts N:SEC:USEC]... [--pcapng [--tsoffset SECS]] IN OUT"

static int	 vlan;

/* The --pcapng output, or NULL. */
static FILE	*ng;

/* Write n bytes to the pcapng output. */
static void
ng_write(const void *p, size_t n)
{
	if (fwrite(p, 1, n, ng) != n)
		die("writing pcapng", NULL);
}

static void
ng_u16(uint16_t v)
{
	ng_write(&v, 2);
}

static void
ng_u32(uint32_t v)
{
	ng_write(&v, 4);
}

/* Section header and the one interface, in host byte order. */
static void
ng_start(int dlt, int snaplen, int tsoffset, long long offset)
{
	uint32_t	 len;

	ng_u32(0x0a0d0d0a);
	ng_u32(28);
	ng_u32(0x1a2b3c4d);
	ng_u16(1);
	ng_u16(0);
	ng_u32(0xffffffff);	/* section length unknown */
	ng_u32(0xffffffff);
	ng_u32(28);

	len = 20 + (tsoffset ? 12 + 4 : 0);
	ng_u32(1);
	ng_u32(len);
	ng_u16((uint16_t)dlt);
	ng_u16(0);
	ng_u32((uint32_t)snaplen);
	if (tsoffset) {
		ng_u16(14);	/* if_tsoffset */
		ng_u16(8);
		ng_write(&offset, 8);
		ng_u32(0);	/* opt_endofopt */
	}
	ng_u32(len);
}

/* One enhanced packet block: the time in microseconds, 64 bits. */
static void
ng_packet(const struct pcap_pkthdr *h, const u_char *data)
{
	static const u_char	 pad[4];
	uint64_t		 t;
	uint32_t		 len;
	size_t			 padn = (4 - h->caplen % 4) % 4;

	t = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
	len = 32 + h->caplen + (uint32_t)padn;
	ng_u32(6);
	ng_u32(len);
	ng_u32(0);
	ng_u32((uint32_t)(t >> 32));
	ng_u32((uint32_t)t);
	ng_u32(h->caplen);
	ng_u32(h->len);
	ng_write(data, h->caplen);
	ng_write(pad, padn);
	ng_u32(len);
}

/* Write one packet (tagged, with --vlan). */
static void
put(pcap_dumper_t *d, const struct pkt *k)
{
	static u_char		 tagged[262144 + 4];
	struct pcap_pkthdr	 h = k->h;

	if (!vlan || h.caplen < 14 || h.caplen > sizeof tagged - 4) {
		if (ng != NULL)
			ng_packet(&k->h, k->data);
		else
			pcap_dump((u_char *)d, &k->h, k->data);
		return;
	}
	memcpy(tagged, k->data, 12);
	memcpy(tagged + 12, "\x81\x00\x00\x2a", 4);
	memcpy(tagged + 16, k->data + 12, h.caplen - 12);
	h.caplen += 4;
	h.len += 4;
	if (ng != NULL)
		ng_packet(&h, tagged);
	else
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
	pcap_dumper_t	*out = NULL;
	size_t		 n = 0, cap = 0, i, nrun = 0, ndata = 0, drop = 0;
	size_t		 nts = 0;
	struct {
		unsigned long	 n;
		long long	 sec, usec;
	}		 ts[16];
	long long	 offset = 0;
	const char	*outname;
	int		 shuffle = 0, dupl = 0, rc, a = 1, dlt, pcapng = 0;
	int		 tsoffset = 0;

	for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
		if (strcmp(argv[a], "--shuffle") == 0)
			shuffle = 1;
		else if (strcmp(argv[a], "--dup") == 0)
			dupl = 1;
		else if (strcmp(argv[a], "--drop") == 0 && a + 1 < argc)
			drop = strtoul(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--vlan") == 0)
			vlan = 1;
		else if (strcmp(argv[a], "--ts") == 0 && a + 1 < argc &&
		    nts < sizeof ts / sizeof ts[0] &&
		    sscanf(argv[a + 1], "%lu:%lld:%lld", &ts[nts].n,
		    &ts[nts].sec, &ts[nts].usec) == 3) {
			nts++;
			a++;
		} else if (strcmp(argv[a], "--pcapng") == 0)
			pcapng = 1;
		else if (strcmp(argv[a], "--tsoffset") == 0 && a + 1 < argc) {
			tsoffset = 1;
			offset = strtoll(argv[++a], NULL, 10);
		} else
			die(USAGE, NULL);
	}
	if (argc - a != 2)
		die(USAGE, NULL);
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
		for (i = 0; i < nts; i++) {
			if (ts[i].n == n + 1) {
				v[n].h.ts.tv_sec = (time_t)ts[i].sec;
				v[n].h.ts.tv_usec = (suseconds_t)ts[i].usec;
			}
		}
		if ((v[n].data = malloc(h->caplen + 1)) == NULL)
			die("out of memory", NULL);
		memcpy(v[n].data, data, h->caplen);
		v[n].is_data = is_data_segment(dlt, data, h->caplen);
		n++;
	}
	if (rc != PCAP_ERROR_BREAK)
		die(argv[a], pcap_geterr(in));
	outname = argv[a + 1];
	if (pcapng) {
		if ((ng = fopen(outname, "wb")) == NULL)
			die(argv[a + 1], "cannot create");
		ng_start(dlt, pcap_snapshot(in), tsoffset, offset);
	} else if ((out = pcap_dump_open(in, argv[a + 1])) == NULL)
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
	if (ng != NULL) {
		if (fclose(ng) != 0)
			die(outname, "cannot write");
	} else
		pcap_dump_close(out);
	pcap_close(in);
	for (i = 0; i < n; i++)
		free(v[i].data);
	free(v);
	return (0);
}
