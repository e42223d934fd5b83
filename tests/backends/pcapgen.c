/*
 * pcapgen: write a pcap of TCP connections from a script, for the
 * import tests that need a capture no real exchange can be made to give
 * (a segment the capture lost, a capture begun mid-connection).
 *
 *	pcapgen OUT <SCRIPT
 *
 * The first connection is 10.0.0.1:40000 (client) to 10.0.0.2:80
 * (server), raw IPv4 frames; each conn step begins another from the next
 * client port.  Each line
 * of the script is one step (empty lines and lines starting with # are
 * ignored):
 *
 *	syn			the three-way handshake
 *	c TEXT			the client sends TEXT (C escapes: \r \n \\)
 *	s TEXT			the server sends TEXT
 *	c lost TEXT		the client sends TEXT, not captured
 *	s lost TEXT		the server sends TEXT, not captured
 *	c fill N		the client sends N bytes of 'x'
 *	s fill N		the server sends N bytes of 'y'
 *	c lostfill N		N bytes of 'x' not captured
 *	s lostfill N
 *	c ack			a bare ACK of all the server sent
 *	s ack			a bare ACK of all the client sent
 *	c fin, s fin		that end closes (FIN)
 *	c rst, s rst		that end resets the connection (RST)
 *	fin			both ends close (FIN, FIN, ACK)
 *	conn			the steps from now on are a new connection's,
 *				from the next client port
 *	mss N			data from now on in segments of at most N
 *				bytes (1400 at first; a loopback's are 16384
 *				or more)
 *	step USEC		each packet from now on USEC after the one
 *				before (1000 at first; 0: all at one time)
 *
 * Data goes in segments of at most mss bytes, each acknowledging all the
 * other end sent.  Without syn the capture begins mid-connection.
 *
 * Exit status: 0, or 1 with a message.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#define SEG_MAX		65000

#define F_FIN		0x01
#define F_SYN		0x02
#define F_RST		0x04
#define F_PSH		0x08
#define F_ACK		0x10

static pcap_dumper_t	*dumper;
static struct timeval	 now = { 1700000000, 0 };
static uint32_t		 seq[2] = { 1000000, 5000000 };	/* client, server */
static unsigned		 line_no;
static long		 step = 1000;
static uint16_t		 cport = 40000;
static size_t		 mss = 1400;

static void
die(const char *msg)
{
	fprintf(stderr, "pcapgen: line %u: %s\n", line_no, msg);
	exit(1);
}

static uint16_t
cksum(const uint8_t *p, size_t len)
{
	uint32_t	 sum = 0;
	size_t		 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

/* Write one segment from dir (0 client, 1 server), unless lost. */
static void
segment(int dir, int flags, const uint8_t *data, size_t len, int lost)
{
	uint8_t			 pkt[20 + 20 + SEG_MAX];
	uint8_t			 ph[12 + 20 + SEG_MAX];
	struct pcap_pkthdr	 h;
	size_t			 n = 40 + len;
	uint16_t		 sport, dport, sum;
	uint32_t		 s = seq[dir], a = seq[!dir];

	sport = dir == 0 ? cport : 80;
	dport = dir == 0 ? 80 : cport;
	memset(pkt, 0, 40);
	pkt[0] = 0x45;
	pkt[2] = n >> 8;
	pkt[3] = n & 0xff;
	pkt[8] = 64;
	pkt[9] = 6;
	pkt[12] = 10; pkt[15] = dir == 0 ? 1 : 2;
	pkt[16] = 10; pkt[19] = dir == 0 ? 2 : 1;
	sum = cksum(pkt, 20);
	pkt[10] = sum >> 8;
	pkt[11] = sum & 0xff;
	pkt[20] = sport >> 8; pkt[21] = sport & 0xff;
	pkt[22] = dport >> 8; pkt[23] = dport & 0xff;
	pkt[24] = s >> 24; pkt[25] = s >> 16; pkt[26] = s >> 8; pkt[27] = s;
	if (flags & F_ACK) {
		pkt[28] = a >> 24; pkt[29] = a >> 16;
		pkt[30] = a >> 8; pkt[31] = a;
	}
	pkt[32] = 5 << 4;
	pkt[33] = flags;
	pkt[34] = 0xff; pkt[35] = 0xff;
	if (len != 0)
		memcpy(pkt + 40, data, len);
	memcpy(ph, pkt + 12, 8);
	ph[8] = 0; ph[9] = 6;
	ph[10] = (20 + len) >> 8; ph[11] = (20 + len) & 0xff;
	memcpy(ph + 12, pkt + 20, 20 + len);
	sum = cksum(ph, 12 + 20 + len);
	pkt[36] = sum >> 8;
	pkt[37] = sum & 0xff;

	seq[dir] += len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
	now.tv_usec += step;
	while (now.tv_usec >= 1000000) {
		now.tv_sec++;
		now.tv_usec -= 1000000;
	}
	if (lost)
		return;
	h.ts = now;
	h.caplen = h.len = n;
	pcap_dump((u_char *)dumper, &h, pkt);
}

static void
send_data(int dir, const uint8_t *p, size_t len, int lost)
{
	size_t	 n;

	while (len != 0) {
		n = len < mss ? len : mss;
		segment(dir, F_ACK | F_PSH, p, n, lost);
		p += n;
		len -= n;
	}
}

/* Undo C escapes in s, in place; returns the length. */
static size_t
unescape(char *s)
{
	char	*r = s, *w = s;

	while (*r != '\0') {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r) {
		case 'r':
			*w++ = '\r';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case '\\':
			*w++ = '\\';
			break;
		default:
			die("unknown escape");
		}
		r++;
	}
	return ((size_t)(w - s));
}

int
main(int argc, char **argv)
{
	pcap_t		*p;
	char		 line[65536], *arg, *nl;
	uint8_t		*fill;
	size_t		 len;
	long		 n;
	int		 dir, lost;

	if (argc != 2) {
		fprintf(stderr, "usage: pcapgen OUT <SCRIPT\n");
		return (1);
	}
	if ((p = pcap_open_dead(DLT_RAW, 65535)) == NULL)
		die("pcap_open_dead failed");
	if ((dumper = pcap_dump_open(p, argv[1])) == NULL) {
		fprintf(stderr, "pcapgen: %s\n", pcap_geterr(p));
		return (1);
	}
	while (fgets(line, sizeof line, stdin) != NULL) {
		line_no++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (strcmp(line, "syn") == 0) {
			segment(0, F_SYN, NULL, 0, 0);
			segment(1, F_SYN | F_ACK, NULL, 0, 0);
			segment(0, F_ACK, NULL, 0, 0);
			continue;
		}
		if (strcmp(line, "fin") == 0) {
			segment(0, F_FIN | F_ACK, NULL, 0, 0);
			segment(1, F_FIN | F_ACK, NULL, 0, 0);
			segment(0, F_ACK, NULL, 0, 0);
			continue;
		}
		if (strcmp(line, "conn") == 0) {
			if (cport == 65535)
				die("too many connections");
			cport++;
			seq[0] += 100000000;
			seq[1] += 100000000;
			continue;
		}
		if (strncmp(line, "mss ", 4) == 0) {
			n = strtol(line + 4, NULL, 10);
			if (n <= 0 || n > SEG_MAX)
				die("bad mss");
			mss = (size_t)n;
			continue;
		}
		if (strncmp(line, "step ", 5) == 0) {
			step = strtol(line + 5, NULL, 10);
			if (step < 0 || step > 100000000)
				die("bad step");
			continue;
		}
		if ((line[0] != 'c' && line[0] != 's') || line[1] != ' ')
			die("a line is syn, fin, or starts with c or s");
		dir = line[0] == 's';
		arg = line + 2;
		lost = 0;
		if (strcmp(arg, "ack") == 0) {
			segment(dir, F_ACK, NULL, 0, 0);
			continue;
		}
		if (strcmp(arg, "fin") == 0) {
			segment(dir, F_FIN | F_ACK, NULL, 0, 0);
			continue;
		}
		if (strcmp(arg, "rst") == 0) {
			segment(dir, F_RST | F_ACK, NULL, 0, 0);
			continue;
		}
		if (strncmp(arg, "lost ", 5) == 0) {
			lost = 1;
			arg += 5;
		}
		if (strncmp(arg, "fill ", 5) == 0 ||
		    strncmp(arg, "lostfill ", 9) == 0) {
			if (arg[0] == 'l')
				lost = 1;
			arg = strchr(arg, ' ') + 1;
			n = strtol(arg, NULL, 10);
			if (n <= 0 || n > 100000000)
				die("bad fill length");
			if ((fill = malloc((size_t)n)) == NULL)
				die("out of memory");
			memset(fill, dir == 0 ? 'x' : 'y', (size_t)n);
			send_data(dir, fill, (size_t)n, lost);
			free(fill);
			continue;
		}
		len = unescape(arg);
		send_data(dir, (const uint8_t *)arg, len, lost);
	}
	pcap_dump_close(dumper);
	pcap_close(p);
	return (0);
}
