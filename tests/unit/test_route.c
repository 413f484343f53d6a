/* Unit tests for router weight scaling, capacity weights and shadow steps. */
#include <stdlib.h>

#include "route.h"
#include "shadow.h"
#include "unit.h"

static struct pa_pool
pool_of(const double *w, size_t n)
{
	struct pa_pool p = { 0 };
	char name[32];

	p.backend = strdup("b");
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "s%zu", i + 1);
		pa_pool_add(&p, name, NULL, w[i], 1);
	}
	return p;
}

static void
test_haproxy(void)
{
	char why[200];
	double w1[] = { 1000, 500, 0 }, w2[] = { 1, 1000 }, w3[] = { 0, 0 };
	struct pa_pool p = pool_of(w1, 3);

	CHECK("haproxy scales", pa_route_scale_haproxy(&p, why, sizeof why) == 0);
	CHECK("haproxy max 256", p.v[0].weight == 256);
	CHECK("haproxy ratio kept", p.v[1].weight == 128);
	CHECK("haproxy zero kept", p.v[2].weight == 0);
	pa_pool_free(&p);

	p = pool_of(w2, 2);
	pa_route_scale_haproxy(&p, why, sizeof why);
	CHECK("haproxy small stays live", p.v[0].weight == 1);
	pa_pool_free(&p);

	p = pool_of(w3, 2);
	CHECK("haproxy all zero rejected", pa_route_scale_haproxy(&p, why, sizeof why) != 0);
	pa_pool_free(&p);

	p = pool_of(w1, 3);
	p.v[0].ready = 0;
	pa_route_scale_haproxy(&p, why, sizeof why);
	CHECK("haproxy not ready is 0", p.v[0].weight == 0);
	CHECK("haproxy rest rescaled", p.v[1].weight == 256);
	pa_pool_free(&p);
}

static void
test_nginx(void)
{
	char why[200];
	double w1[] = { 256, 0 }, w2[] = { 0.5, 0.25 }, w3[] = { 1.0 / 3, 2.0 / 3 },
	       w4[] = { 7, 1e6 };
	struct pa_pool p = pool_of(w1, 2);

	CHECK("nginx scales", pa_route_scale_nginx(&p, why, sizeof why) == 0);
	CHECK("nginx 256 becomes 1", p.v[0].weight == 1);
	CHECK("nginx zero is down", p.v[1].weight == 0);
	pa_pool_free(&p);

	p = pool_of(w2, 2);
	pa_route_scale_nginx(&p, why, sizeof why);
	CHECK("nginx decimals first 2", p.v[0].weight == 2);
	CHECK("nginx decimals second 1", p.v[1].weight == 1);
	pa_pool_free(&p);

	p = pool_of(w3, 2);
	pa_route_scale_nginx(&p, why, sizeof why);
	CHECK("nginx thirds first 1", p.v[0].weight == 1);
	CHECK("nginx thirds second 2", p.v[1].weight == 2);
	pa_pool_free(&p);

	p = pool_of(w4, 2);
	pa_route_scale_nginx(&p, why, sizeof why);
	CHECK("nginx large capped", p.v[1].weight == PA_NGINX_WEIGHT_MAX);
	CHECK("nginx small stays live", p.v[0].weight == 1);
	pa_pool_free(&p);
}

static void
test_percent(void)
{
	char why[200];
	double w1[] = { 1, 1, 1 }, w2[] = { 2, 1, 0 };
	struct pa_pool p = pool_of(w1, 3);

	pa_route_scale_percent(&p, why, sizeof why);
	CHECK("percent sums to 100", p.v[0].weight + p.v[1].weight + p.v[2].weight == 100);
	CHECK("percent thirds first 34", p.v[0].weight == 34);
	CHECK("percent thirds second 33", p.v[1].weight == 33);
	pa_pool_free(&p);

	p = pool_of(w2, 3);
	pa_route_scale_percent(&p, why, sizeof why);
	CHECK("percent 2:1 first 67", p.v[0].weight == 67);
	CHECK("percent 2:1 second 33", p.v[1].weight == 33);
	CHECK("percent zero stays 0", p.v[2].weight == 0);
	pa_pool_free(&p);
}

/*
 * Utilization of server i once the weights split demand, given its true
 * capacity in work units per second.
 */
static double
utilization_after(const struct pa_pool *p, size_t i, double demand, double true_capacity)
{
	double sum = 0;

	for (size_t k = 0; k < p->n; k++)
		sum += p->v[k].raw;
	return p->v[i].raw / sum * demand / true_capacity;
}

static void
test_capacity(void)
{
	double w[] = { 0, 0, 0 }, cpu[] = { 0.3, 0.6, 0.45 };
	struct pa_pool p = pool_of(w, 3);
	struct pa_capacity_model m = { 200, 0.9, 100, NAN };
	double u;

	/*
	 * At equal shares, 30% and 60% CPU mean the first handles twice the
	 * work of the second.  100 work/s over two instances of 200 on
	 * average is 25% each once the weights follow capacity, 2:1.
	 */
	p.v[2].ready = 0;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("capacity predicted", u, 0.25, 1e-12);
	CHECK_NEAR("capacity first", p.v[0].raw, 4.0 / 3, 1e-12);
	CHECK_NEAR("capacity second", p.v[1].raw, 2.0 / 3, 1e-12);
	CHECK("capacity not ready", p.v[2].raw == 0);
	CHECK_NEAR("capacity spare", p.v[0].spare, 0.65, 1e-12);
	CHECK_NEAR("capacity equal spare", p.v[1].spare, 0.65, 1e-12);

	m.demand = NAN;
	m.expected_utilization = 0.45;
	CHECK_NEAR("plan utilization used", pa_route_capacity_weights(&p, cpu, &m), 0.45, 1e-12);
	CHECK_NEAR("plan weights by capacity", p.v[0].raw, 4.0 / 3, 1e-12);

	/* Without either, the current work over the capacity is (0.3 * 4/3 + 0.6 * 2/3) / 2. */
	m.expected_utilization = NAN;
	CHECK_NEAR("current load used", pa_route_capacity_weights(&p, cpu, &m), 0.4, 1e-12);

	/* Past --max-utilization the weights still follow capacity, and the caller warns. */
	m.demand = 1e6;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK("overload predicted above max", u > m.max_utilization);
	CHECK_NEAR("overload first by capacity", p.v[0].raw, 4.0 / 3, 1e-12);
	CHECK_NEAR("overload second by capacity", p.v[1].raw, 2.0 / 3, 1e-12);
	CHECK("overload not ready 0", p.v[2].raw == 0);
	pa_pool_free(&p);
}

/*
 * Check a fleet whose true capacities the test sets.  The usage each
 * instance shows follows from the share it had, and the weights must give
 * every serving instance the same utilization under the new demand.
 */
static void
test_capacity_true_fleet(void)
{
	double w[] = { 0, 0, 0, 0 }, cpu[4];
	double truth[] = { 30, 10, 20, 15 }, prior[] = { 0.4, 0.1, 0.3, 0.2 };
	double before = 40, after = 60, u;
	struct pa_pool p = pool_of(w, 4);
	struct pa_capacity_model m = { 18.75, 0.9, after, NAN };

	/* 40 work/s split 4:1:3:2 over 30, 10, 20 and 15 work/s. */
	for (size_t i = 0; i < 4; i++) {
		cpu[i] = prior[i] * before / truth[i];
		p.v[i].prior_share = prior[i];
	}
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("true fleet predicted", u, 60 / 75.0, 1e-12);
	for (size_t i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof name, "true fleet server %zu at 80%%", i + 1);
		CHECK_NEAR(name, utilization_after(&p, i, after, truth[i]), 0.8, 1e-12);
	}

	/* The same instances at equal shares read as equal capacity at equal load. */
	for (size_t i = 0; i < 4; i++) {
		cpu[i] = 0.5;
		p.v[i].prior_share = NAN;
	}
	pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("equal load equal weight", p.v[0].raw, p.v[3].raw, 1e-12);
	pa_pool_free(&p);
}

static void
test_capacity_limits(void)
{
	double w[] = { 0, 0, 0 }, idle[] = { 0.3, 0.005, 0.3 }, low[] = { 0.5, 0.5, 0.02 };
	double some[] = { 0.4, 0.4, 0.4 };
	struct pa_pool p = pool_of(w, 3);
	struct pa_capacity_model m = { 10, 0.9, 15, NAN };

	/* A reading near idle shows nothing of capacity, so the median is taken. */
	pa_route_capacity_weights(&p, idle, &m);
	CHECK_NEAR("idle gets median", p.v[1].raw, p.v[0].raw, 1e-12);
	CHECK_NEAR("idle counted as one", p.v[1].raw, 1, 1e-12);

	/* A low reading draws at most four times the median's weight. */
	pa_route_capacity_weights(&p, low, &m);
	CHECK_NEAR("low reading capped", p.v[2].raw / p.v[0].raw, 4, 1e-12);
	CHECK_NEAR("capped sum is counted", p.v[0].raw + p.v[1].raw + p.v[2].raw, 3, 1e-12);

	/*
	 * With shares from an earlier run, a server without one, such as an
	 * instance that just left its shadow, gets the median capacity.
	 */
	p.v[0].prior_share = 2.0 / 3;
	p.v[1].prior_share = 1.0 / 3;
	p.v[2].prior_share = NAN;
	pa_route_capacity_weights(&p, some, &m);
	CHECK_NEAR("prior share doubles", p.v[0].raw / p.v[1].raw, 2, 1e-12);
	CHECK_NEAR("no prior gets median", p.v[2].raw / p.v[1].raw, 1.5, 1e-12);

	/* A prior share of 0 (drained or shadow before) measures nothing either. */
	p.v[2].prior_share = 0;
	pa_route_capacity_weights(&p, some, &m);
	CHECK_NEAR("zero prior gets median", p.v[2].raw / p.v[1].raw, 1.5, 1e-12);
	pa_pool_free(&p);
}

/*
 * An instance without a CPU reading (cpu NAN) counts as the median
 * capacity, and its unknown work must not reach a weight, a spare or the
 * predicted utilization.
 */
static void
test_capacity_no_reading(void)
{
	double w[] = { 0, 0, 0 }, cpu[] = { 0.3, 0.6, NAN };
	struct pa_pool p = pool_of(w, 3);
	struct pa_capacity_model m = { 100, 0.9, 150, NAN };
	double u;

	/*
	 * At equal shares the readings give capacities 1/0.3 and 1/0.6, whose
	 * median 2.5 the third takes.  Scaled to average 1 over the three,
	 * that is 4/3, 2/3 and 1, and 150 work/s over three of 100 is 50%.
	 */
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("no reading predicted", u, 0.5, 1e-12);
	CHECK_NEAR("no reading first by capacity", p.v[0].raw, 4.0 / 3, 1e-12);
	CHECK_NEAR("no reading second by capacity", p.v[1].raw, 2.0 / 3, 1e-12);
	CHECK_NEAR("no reading gets median", p.v[2].raw, 1, 1e-12);
	CHECK_NEAR("no reading spare", p.v[2].spare, 0.4, 1e-12);

	/*
	 * Without a forecast or plan, the load is read from the instances with
	 * a reading: (0.3 * 4/3 + 0.6 * 2/3) over their capacity of 2.
	 */
	m.demand = NAN;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("no reading current load", u, 0.4, 1e-12);
	CHECK_NEAR("no reading current load spare", p.v[2].spare, 0.5, 1e-12);
	m.demand = 150;

	/*
	 * A prior share measures nothing without a reading, so the third takes the
	 * median of 0.5/0.3 and 0.25/0.6, the capacities the other two show.
	 */
	p.v[0].prior_share = 0.5;
	p.v[1].prior_share = 0.25;
	p.v[2].prior_share = 0.25;
	pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("no reading prior share median", p.v[2].raw / p.v[1].raw,
		   (0.5 / 0.3 + 0.25 / 0.6) / 2 / (0.25 / 0.6), 1e-12);
	p.v[0].prior_share = p.v[1].prior_share = p.v[2].prior_share = NAN;

	/* A promoting instance without a reading takes its step of the median. */
	p.v[2].live_fraction = 0.25;
	pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("no reading promoting step", p.v[2].raw / p.v[0].raw, 0.25 * 2.5 / (1 / 0.3),
		   1e-12);
	CHECK("no reading promoting spare finite", isfinite(p.v[2].spare));

	/* A shadow without a reading has unknown spare capacity, so no cap. */
	p.v[2].live_fraction = 0;
	pa_route_capacity_weights(&p, cpu, &m);
	CHECK("no reading shadow raw 0", p.v[2].raw == 0);
	CHECK("no reading shadow spare unknown", isnan(p.v[2].spare));
	p.v[2].live_fraction = 1;

	/*
	 * No forecast, plan or reading: the load is unknown, and every instance
	 * counts as the same capacity.
	 */
	cpu[0] = cpu[1] = NAN;
	m.demand = NAN;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK("no load predicted unknown", isnan(u));
	CHECK("no load pool takes live", pa_pool_takes_live(&p));
	for (size_t i = 0; i < 3; i++) {
		char name[64];

		snprintf(name, sizeof name, "no load server %zu raw 1", i + 1);
		CHECK_NEAR(name, p.v[i].raw, 1, 1e-12);
		snprintf(name, sizeof name, "no load server %zu spare unknown", i + 1);
		CHECK(name, isnan(p.v[i].spare));
	}

	/* A shadow's reading is not the load of the instances that carry the work. */
	cpu[2] = 0.5;
	p.v[2].live_fraction = 0;
	CHECK("shadow reading not load", isnan(pa_route_capacity_weights(&p, cpu, &m)));
	CHECK_NEAR("shadow reading spare", p.v[2].spare, 0.4, 1e-12);
	p.v[2].live_fraction = 1;
	cpu[2] = NAN;

	/* A plan's utilization is enough to weight them. */
	m.expected_utilization = 0.3;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("plan without readings", u, 0.3, 1e-12);
	CHECK_NEAR("plan without readings raw", p.v[1].raw, 1, 1e-12);
	CHECK_NEAR("plan without readings spare", p.v[1].spare, 0.6, 1e-12);

	/* With no instance ready, nothing takes live traffic. */
	for (size_t i = 0; i < 3; i++)
		p.v[i].ready = 0;
	CHECK("none ready predicted unknown", isnan(pa_route_capacity_weights(&p, cpu, &m)));
	CHECK("none ready pool takes no live", !pa_pool_takes_live(&p));
	pa_pool_free(&p);
}

static void
test_capacity_shadow(void)
{
	double w[] = { 0, 0, 0 }, cpu[] = { 0.6, 0.3, 0.05 };
	struct pa_pool p = pool_of(w, 3);
	struct pa_capacity_model m = { 100, 0.9, 100, NAN };
	double u;

	/* 100 work/s over the two serving instances of 100 is 50%: the shadow carries none. */
	p.v[2].live_fraction = 0;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("shadow not counted", u, 0.5, 1e-12);
	CHECK_NEAR("shadow serving 1", p.v[0].raw, 2.0 / 3, 1e-12);
	CHECK_NEAR("shadow serving 2", p.v[1].raw, 4.0 / 3, 1e-12);
	CHECK("shadow raw 0", p.v[2].raw == 0);
	CHECK_NEAR("shadow spare from own load", p.v[2].spare, 0.85, 1e-12);

	/*
	 * A quarter step counts a quarter of an instance, so 100 work/s fall
	 * on 2.25 instances.  The promoting one takes a quarter of a serving
	 * one's utilization.
	 */
	p.v[2].live_fraction = 0.25;
	p.v[0].prior_share = 0.4;
	p.v[1].prior_share = 0.4;
	p.v[2].prior_share = 0.2;
	cpu[0] = cpu[1] = 0.4;
	cpu[2] = 0.2;
	u = pa_route_capacity_weights(&p, cpu, &m);
	CHECK_NEAR("promoting counted", u, 100 / 225.0, 1e-12);
	CHECK_NEAR("promoting step of weight", p.v[2].raw, 0.25 * p.v[0].raw, 1e-12);
	CHECK_NEAR("promoting spare", p.v[2].spare, 0.9 - 0.25 * u, 1e-12);

	/* With no instance serving, nothing takes the demand. */
	for (size_t i = 0; i < 3; i++)
		p.v[i].live_fraction = 0;
	CHECK("all shadow no utilization", isnan(pa_route_capacity_weights(&p, cpu, &m)));
	CHECK("all shadow raw 0 first", p.v[0].raw == 0);
	CHECK("all shadow raw 0 second", p.v[1].raw == 0);
	CHECK("all shadow raw 0 third", p.v[2].raw == 0);
	pa_pool_free(&p);
}

static void
test_steps(void)
{
	struct pa_shadow_conf c;
	char why[200];

	pa_shadow_defaults(&c);
	CHECK("steps default count", c.nsteps == 3);
	CHECK("steps default last", c.steps[2] == 1);
	CHECK("steps parse", pa_shadow_parse_steps(&c, "10,50,100", why, sizeof why) == 0 &&
				     c.nsteps == 3 && c.steps[0] == 0.1);
	CHECK("steps decreasing", pa_shadow_parse_steps(&c, "50,10,100", why, sizeof why) != 0);
	CHECK("steps not ending at 100", pa_shadow_parse_steps(&c, "10,50", why, sizeof why) != 0);
	CHECK("steps junk", pa_shadow_parse_steps(&c, "10,x", why, sizeof why) != 0);
	CHECK("steps empty", pa_shadow_parse_steps(&c, "", why, sizeof why) != 0);
	CHECK("steps only 100", pa_shadow_parse_steps(&c, "100", why, sizeof why) == 0);
}

static void
test_names(void)
{
	char why[200];

	CHECK("name ok", pa_route_name_check("web-1_a.b:2", 0, why, sizeof why) == 0);
	CHECK("name space", pa_route_name_check("a b", 0, why, sizeof why) != 0);
	CHECK("name brace", pa_route_name_check("a}", 0, why, sizeof why) != 0);
	CHECK("name semicolon", pa_route_name_check("a;", 0, why, sizeof why) != 0);
	CHECK("addr ipv6", pa_route_name_check("[2001:db8::1]:80", 1, why, sizeof why) == 0);
	CHECK("name brackets", pa_route_name_check("[a]", 0, why, sizeof why) != 0);
	CHECK("name empty", pa_route_name_check("", 0, why, sizeof why) != 0);
}

static void
test_addresses(void)
{
	static const struct {
		const char *addr;
		int valid;
	} cases[] = {
		{ "10.0.0.1:8080", 1 },
		{ "10.0.0.1:1", 1 },
		{ "10.0.0.1:65535", 1 },
		{ "web-1.svc.cluster.local:80", 1 },
		{ "db_primary:5432", 1 },
		{ "[::1]:80", 1 },
		{ "[2001:db8::1]:443", 1 },
		{ "10.0.0.1:0", 0 },
		{ "10.0.0.1:65536", 0 },
		{ "127.0.0.1:99999", 0 },
		{ "10.0.0.1:", 0 },
		{ "10.0.0.1:80x", 0 },
		{ "10.0.0.1", 0 },
		{ ":80", 0 },
		{ "-", 0 },
		{ "::1", 0 },
		{ "::1:80", 0 },
		{ "[::1]", 0 },
		{ "[::1]80", 0 },
		{ "[]:80", 0 },
		{ "[web]:80", 0 },
		{ "...:...", 0 },
		{ "1.2.3.999:80", 0 },
		{ "1.2.3:80", 0 },
		{ "a..b:80", 0 },
		{ ".a:80", 0 },
		{ "-a:80", 0 },
		{ "a-.b:80", 0 },
		{ "a b:80", 0 },
	};
	char why[200], name[120];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(name, sizeof name, "addr %s %s", cases[i].addr,
			 cases[i].valid ? "accepted" : "rejected");
		CHECK(name, (pa_route_addr_check(cases[i].addr, why, sizeof why) == 0) ==
			    cases[i].valid);
	}

	/* A label of 64 bytes is one too many. */
	memset(name, 'a', 64);
	snprintf(name + 64, sizeof name - 64, ":80");
	CHECK("addr long label rejected", pa_route_addr_check(name, why, sizeof why) != 0);
	name[63] = ':';
	snprintf(name + 64, sizeof name - 64, "80");
	CHECK("addr 63-byte label accepted", pa_route_addr_check(name, why, sizeof why) == 0);
}

static void
test_clashes(void)
{
	struct pa_pool pools[4] = { { 0 } };
	const char *names[4] = { "api", "API", "web", "web_shadow" };
	const char *series[4] = { "a/api", "b/API", "c/web", "d/web_shadow" };
	char clash[4];

	for (int i = 0; i < 4; i++) {
		pools[i].backend = (char *)names[i];
		pools[i].series = (char *)series[i];
	}

	memset(clash, 0, sizeof clash);
	pa_route_find_clashes(pools, 4, 0, 0, clash);
	CHECK("clash exact none", clash[0] + clash[1] + clash[2] + clash[3] == 0);

	memset(clash, 0, sizeof clash);
	pa_route_find_clashes(pools, 4, 1, 0, clash);
	CHECK("clash nginx case first", clash[0] == 1);
	CHECK("clash nginx case second", clash[1] == 1);
	CHECK("clash nginx no shadow check", clash[2] + clash[3] == 0);

	memset(clash, 0, sizeof clash);
	pa_route_find_clashes(pools, 4, 1, 1, clash);
	CHECK("clash shadow owner", clash[2] == 1);
	CHECK("clash shadow name", clash[3] == 1);

	memset(clash, 0, sizeof clash);
	pa_route_find_clashes(pools, 4, 0, 1, clash);
	CHECK("clash shadow only for nginx", clash[2] + clash[3] == 0);

	pools[1].backend = (char *)"api";
	memset(clash, 0, sizeof clash);
	pa_route_find_clashes(pools, 4, 0, 0, clash);
	CHECK("clash exact first", clash[0] == 1);
	CHECK("clash exact second", clash[1] == 1);
}

int
main(void)
{
	test_haproxy();
	test_nginx();
	test_percent();
	test_capacity();
	test_capacity_true_fleet();
	test_capacity_limits();
	test_capacity_no_reading();
	test_capacity_shadow();
	test_steps();
	test_names();
	test_addresses();
	test_clashes();
	return unit_status();
}
