/*
 * gen-access-log - write a deterministic combined-format access log for
 * benchmarks.
 *
 * usage: gen-access-log LINES [SEED] > access.log
 *
 * Lines mix four virtual hosts in the referer, a few hundred clients
 * (IPv4 and IPv6), GET/POST/HEAD, paths with numeric ids and query
 * strings, 2xx-5xx statuses, "-" sizes and a handful of user agents, one
 * with an escaped quote.  Time advances about 2000 lines a minute from
 * 2026-03-01 in +0100.  A fixed-seed splitmix64 generator makes every run
 * write the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state;

static uint64_t
next(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
pick(unsigned n)
{
	return (unsigned)(next() % n);
}

int
main(int argc, char **argv)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const char *const sites[] = { "https://shop.example.com", "https://blog.example.com",
					     "https://api.example.net", "-" };
	static const char *const paths[] = { "/api/v1/orders/%u", "/api/v1/items?page=%u",
					     "/static/app.%u.js", "/blog/posts/%u", "/", "/search?q=item%u",
					     "/checkout/cart/%u", "/images/p%u.jpg" };
	static const char *const agents[] = {
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"curl/8.5.0", "kube-probe/1.30",
		"Dalvik/2.1.0 (Linux; U; Android 5.1; Tablet 10\\\" Build/LMY47I)"
	};
	static const int statuses[] = { 200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 404, 500, 503 };
	char *end;
	unsigned long long lines, i;
	/* 2026-03-01T00:00:00+01:00; days are counted within the month for brevity. */
	long long sec = 0;

	if (argc < 2 || (lines = strtoull(argv[1], &end, 10), *end != '\0')) {
		fprintf(stderr, "usage: gen-access-log LINES [SEED]\n");
		return 2;
	}
	state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;

	for (i = 0; i < lines; i++) {
		unsigned client = pick(400), st = (unsigned)statuses[pick(13)];
		long long day = sec / 86400, rem = sec % 86400;
		const char *method = pick(10) < 7 ? "GET" : pick(2) ? "POST" : "HEAD";
		char path[64];

		/* About 2000 lines a minute: 0.03 s apart on average. */
		if (pick(100) < 3)
			sec++;
		snprintf(path, sizeof path, paths[pick(8)], pick(100000));
		if (client % 10 == 0)
			printf("2001:db8::%x", client);
		else
			printf("198.51.%u.%u", client / 256, client % 256);
		printf(" - - [%02lld/%s/2026:%02lld:%02lld:%02lld +0100] \"%s %s HTTP/1.1\" %u ",
		       day % 28 + 1, months[2 + day / 28 % 10], rem / 3600, rem / 60 % 60, rem % 60,
		       method, path, st);
		if (st == 204 || st == 304 || method[0] == 'H')
			printf("-");
		else
			printf("%u", 200 + pick(60000));
		printf(" \"%s%s\" \"%s\"\n", sites[pick(4)], pick(2) ? "/" : "", agents[pick(5)]);
	}
	return ferror(stdout) ? 1 : 0;
}
