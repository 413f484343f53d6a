/*
 * gen-sample - write a deterministic synthetic access log and event feed
 * for the demo.
 *
 * usage: gen-sample [-d DAYS] [-s SEED] [-e EVENTS.csv] [-u USAGE.csv] > access.log
 *
 * Three tenants share a shop platform, each with a search and a checkout
 * service.  Request rates follow a daily curve (quiet nights, an evening
 * peak), a weekly one (weekends busier for shops), and scheduled campaigns
 * that multiply the rate of one tenant for a few hours.  The campaigns are
 * written to the event feed, one of them after the end of the log, so a
 * forecast can raise capacity ahead of it.  Arrivals are Poisson per
 * minute from a fixed-seed generator, so every run writes the same bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

/* splitmix64: small, fast and the same on every platform. */
static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_uniform(void)
{
	return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Knuth's multiplication method; the per-minute means here stay small. */
static int
rng_poisson(double mean)
{
	double limit = exp(-mean), p = 1;
	int k = 0;

	if (mean > 500)	/* normal approximation keeps the loop short */
		return (int)fmax(0, floor(mean + sqrt(mean) * (rng_uniform() - 0.5) * 3.4641 + 0.5));
	do {
		k++;
		p *= rng_uniform();
	} while (p > limit);
	return k - 1;
}

struct tenant {
	const char *host;
	double base;		/* requests per minute at the daily mean */
};

static const struct tenant tenants[] = {
	{ "acme.shop.example", 6.0 },
	{ "globex.shop.example", 3.0 },
	{ "initech.shop.example", 1.5 },
};

struct campaign {
	int tenant;
	int day;		/* days after the start of the log */
	int hour;
	int hours;
	double lift;		/* rate multiplier while it runs */
};

static struct campaign campaigns[] = {
	{ 0, 3, 18, 3, 3.0 },
	{ 1, 6, 12, 4, 2.5 },
	{ 0, 10, 18, 3, 3.0 },
	{ 0, 0, 18, 3, 3.0 },	/* day set at run time: the day after the log ends */
};
#define NCAMPAIGNS (sizeof campaigns / sizeof campaigns[0])

/* The tenant is the first label of its host name. */
static const char *
tenant_name(int k)
{
	static char buf[32];
	const char *host = tenants[k].host;

	snprintf(buf, sizeof buf, "%.*s", (int)(strchr(host, '.') - host), host);
	return buf;
}

static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Daily curve: low at 04:00, peak near 20:00, mean about 1. */
static double
daily(double hour)
{
	return 1.0 + 0.8 * sin((hour - 14.0) / 24.0 * 2 * M_PI);
}

static double
weekly(int weekday)	/* 0 = Monday */
{
	return weekday >= 5 ? 1.3 : 1.0;
}

static double
campaign_lift(int tenant, int day, int hour)
{
	double lift = 1;

	for (size_t i = 0; i < NCAMPAIGNS; i++) {
		const struct campaign *c = &campaigns[i];

		if (c->tenant == tenant && c->day == day && hour >= c->hour &&
		    hour < c->hour + c->hours)
			lift *= c->lift;
	}
	return lift;
}

/* Split epoch seconds into a civil date and seconds of the day (Hinnant's algorithm). */
static void
civil(long long t, long long *y, unsigned *m, unsigned *d, long long *sod)
{
	long long days = t / 86400;
	long long z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*sod = t % 86400;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static void
print_time(FILE *f, long long t, int offset_min)
{
	long long y, sod;
	unsigned m, d;
	int off = offset_min < 0 ? -offset_min : offset_min;

	civil(t + offset_min * 60, &y, &m, &d, &sod);
	fprintf(f, "[%02u/%s/%04lld:%02lld:%02lld:%02lld %c%02d%02d]", d, months[m - 1], y,
		sod / 3600, sod / 60 % 60, sod % 60, offset_min < 0 ? '-' : '+', off / 60,
		off % 60);
}

static void
print_iso(FILE *f, long long t)
{
	long long y, sod;
	unsigned m, d;

	civil(t, &y, &m, &d, &sod);
	fprintf(f, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y, m, d, sod / 3600,
		sod / 60 % 60, sod % 60);
}

static void
print_request(long long t, int tenant)
{
	static const char *agents[] = {
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
		"curl/8.5.0",
	};
	double u = rng_uniform();
	const char *method = "GET", *path;
	char pathbuf[96];
	int status = 200;
	long bytes;

	/* Searches are most of the traffic; checkouts are fewer but post a cart. */
	if (u < 0.7) {
		snprintf(pathbuf, sizeof pathbuf, "/search/items?q=item%u&page=%u",
			 (unsigned)(rng_next() % 500), (unsigned)(rng_next() % 5 + 1));
		path = pathbuf;
		bytes = 2000 + (long)(rng_next() % 30000);
	} else if (u < 0.9) {
		snprintf(pathbuf, sizeof pathbuf, "/checkout/cart/%u",
			 (unsigned)(rng_next() % 100000));
		path = pathbuf;
		bytes = 800 + (long)(rng_next() % 2000);
	} else {
		method = "POST";
		path = "/checkout/orders";
		bytes = 300 + (long)(rng_next() % 600);
	}
	if (rng_uniform() < 0.004)
		status = 503;

	/* Two servers log in different zones: the same instant, other offsets. */
	int offset = (rng_next() & 1) ? 120 : 0;

	printf("198.51.100.%u - - ", (unsigned)(rng_next() % 250 + 1));
	print_time(stdout, t, offset);
	printf(" \"%s %s HTTP/1.1\" %d %ld \"https://%s/\" \"%s\"\n", method, path, status,
	       bytes, tenants[tenant].host, agents[rng_next() % 3]);
}

int
main(int argc, char **argv)
{
	long long start = 1780272000;	/* 2026-06-01T00:00:00Z, a Monday */
	int days = 14, opt;
	const char *events_path = NULL, *usage_path = NULL;

	rng_state = 20260601;
	while ((opt = getopt(argc, argv, "d:s:e:u:")) != -1) {
		switch (opt) {
		case 'd':
			days = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			events_path = optarg;
			break;
		case 'u':
			usage_path = optarg;
			break;
		default:
			fprintf(stderr, "usage: gen-sample [-d DAYS] [-s SEED] [-e EVENTS.csv] [-u USAGE.csv]\n");
			return 2;
		}
	}
	if (days < 1 || days > 365) {
		fprintf(stderr, "gen-sample: -d must be between 1 and 365\n");
		return 2;
	}
	campaigns[NCAMPAIGNS - 1].day = days;

	for (int day = 0; day < days; day++) {
		for (int minute = 0; minute < 1440; minute++) {
			int hour = minute / 60;

			for (int k = 0; k < 3; k++) {
				double mean = tenants[k].base * daily(minute / 60.0) *
					      weekly(day % 7) * campaign_lift(k, day, hour);
				int n = rng_poisson(mean);
				long long t0 = start + day * 86400LL + minute * 60LL;

				for (int j = 0; j < n; j++)
					print_request(t0 + (long long)(rng_next() % 60), k);
			}
		}
	}

	if (events_path != NULL) {
		FILE *f = fopen(events_path, "w");

		if (f == NULL) {
			perror(events_path);
			return 3;
		}
		fprintf(f, "name,event_type,start,end,magnitude,tenant\n");
		for (size_t i = 0; i < NCAMPAIGNS; i++) {
			const struct campaign *c = &campaigns[i];
			long long t = start + c->day * 86400LL + c->hour * 3600LL;

			fprintf(f, "%s-promo-%zu,campaign,", tenant_name(c->tenant), i + 1);
			print_iso(f, t);
			fputc(',', f);
			print_iso(f, t + c->hours * 3600LL);
			fprintf(f, ",%g,%s\n", c->lift, tenant_name(c->tenant));
		}
		if (fclose(f) != 0)
			return 3;
	}

	/* Current utilization: two instances per tenant at the last minute. */
	if (usage_path != NULL) {
		FILE *f = fopen(usage_path, "w");
		long long t = start + days * 86400LL - 60;

		if (f == NULL) {
			perror(usage_path);
			return 3;
		}
		fprintf(f, "ts,instance_id,tenant_service_name,cpu_usage,memory_usage,network_io\n");
		for (int k = 0; k < 3; k++) {
			const char *tenant = tenant_name(k);

			for (int i = 0; i < 2; i++) {
				print_iso(f, t);
				fprintf(f, ",%s-search-%d,%s/search,%.2f,%.2f,%d\n", tenant, i, tenant,
					0.25 + 0.1 * k + 0.3 * i, 0.5, 250000);
			}
		}
		if (fclose(f) != 0)
			return 3;
	}
	return fflush(stdout) == 0 ? 0 : 3;
}
