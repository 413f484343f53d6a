/* Unit tests for DNS-1123 names, shell quoting, templates and the change order. */
#include <stdlib.h>

#include "apply.h"
#include "kube.h"
#include "unit.h"

static int
label_ok(const char *s)
{
	char why[200];

	return pa_dns1123_label(s, why, sizeof why) == 0;
}

static int
subdomain_ok(const char *s)
{
	char why[200];

	return pa_dns1123_subdomain(s, why, sizeof why) == 0;
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_names(void)
{
	char why[200];
	char *s63 = repeat('a', 63), *s64 = repeat('a', 64), *s253 = repeat('a', 253),
	     *s254 = repeat('a', 254);

	CHECK("label plain", label_ok("prod"));
	CHECK("label digits and hyphen", label_ok("team-7"));
	CHECK("label 63 chars", label_ok(s63));
	CHECK("label 64 chars rejected", !label_ok(s64));
	CHECK("label upper case rejected", !label_ok("Prod"));
	CHECK("label dot rejected", !label_ok("a.b"));
	CHECK("label empty rejected", !label_ok(""));
	CHECK("label leading hyphen rejected", !label_ok("-a"));
	CHECK("label trailing hyphen rejected", !label_ok("a-"));

	/* Subdomains allow dots and 253 characters, but each part follows the label rules. */
	s253[100] = '.';
	CHECK("subdomain dotted", subdomain_ok("api.v2"));
	CHECK("subdomain 253 chars", subdomain_ok(s253));
	CHECK("subdomain 254 chars rejected", !subdomain_ok(s254));
	CHECK("subdomain empty part rejected", !subdomain_ok("a..b"));
	CHECK("subdomain leading dot rejected", !subdomain_ok(".a"));
	CHECK("subdomain underscore rejected", !subdomain_ok("a_b"));
	CHECK("subdomain semicolon rejected", !subdomain_ok("api;id"));
	CHECK("subdomain space rejected", !subdomain_ok("a b"));
	CHECK("subdomain non-ascii rejected", !subdomain_ok("caf\xc3\xa9"));
	CHECK("subdomain part ends in hyphen", !subdomain_ok("a-.b"));

	pa_dns1123_subdomain("myDedicatedWorker", why, sizeof why);
	CHECK_STR("reason names the byte", why,
		  "contains upper case \"D\" at position 3 (names are not lowercased)");
	pa_dns1123_label(s64, why, sizeof why);
	CHECK_STR("reason names the length", why, "is 64 characters, longer than 63");
	pa_dns1123_subdomain("shop-.ksc.nasa.gov", why, sizeof why);
	CHECK_STR("reason names the label ending in hyphen", why,
		  "label \"shop-\" at position 1 must end with a letter or digit");
	pa_dns1123_subdomain("api.-v2", why, sizeof why);
	CHECK_STR("reason names the label starting with hyphen", why,
		  "label \"-v2\" at position 5 must start with a letter or digit");
	pa_dns1123_subdomain("-api-", why, sizeof why);
	CHECK_STR("reason for a one-label name", why, "must start with a letter or digit");

	CHECK("target ok", pa_kube_target_check("deployment/checkout", why, sizeof why) == 0);
	CHECK("target group ok", pa_kube_target_check("deployments.apps/x", why, sizeof why) == 0);
	CHECK("target without type", pa_kube_target_check("checkout", why, sizeof why) != 0);
	CHECK("target upper type", pa_kube_target_check("Deployment/x", why, sizeof why) != 0);
	CHECK("target empty name", pa_kube_target_check("deployment/", why, sizeof why) != 0);
	CHECK("target second slash", pa_kube_target_check("deployment/a/b", why, sizeof why) != 0);
	free(s63);
	free(s64);
	free(s253);
	free(s254);
}

static void
test_quoting(void)
{
	char *q;
	struct pa_argv a = { 0 };

	q = pa_sh_quote("plain");
	CHECK_STR("quote plain", q, "'plain'");
	free(q);
	q = pa_sh_quote("it's");
	CHECK_STR("quote single quote", q, "'it'\\''s'");
	free(q);
	q = pa_sh_quote("");
	CHECK_STR("quote empty", q, "''");
	free(q);
	q = pa_sh_quote("$(id);`x`\n");
	CHECK_STR("quote metacharacters", q, "'$(id);`x`\n'");
	free(q);

	pa_argv_push(&a, "kubectl");
	pa_argv_push(&a, "a b");
	q = pa_argv_render(&a);
	CHECK_STR("render argv", q, "'kubectl' 'a b'");
	CHECK("argv null-terminated", a.v[a.n] == NULL);
	free(q);
	pa_argv_free(&a);
}

static void
test_templates(void)
{
	char why[200], *s;

	CHECK("template ok", pa_template_check("deployment/{tenant}-{service}", why, sizeof why) == 0);
	CHECK("template unknown", pa_template_check("x/{svc}", why, sizeof why) != 0);
	CHECK("template open brace", pa_template_check("x/{tenant", why, sizeof why) != 0);
	CHECK("template close brace", pa_template_check("x/tenant}", why, sizeof why) != 0);
	s = pa_template_expand("deployment/{tenant}-{service}-{service}", "acme", "api");
	CHECK_STR("template expand", s, "deployment/acme-api-api");
	free(s);
	s = pa_template_expand("{tenant}", "a-much-longer-tenant-name-than-the-template", "s");
	CHECK_STR("template grows", s, "a-much-longer-tenant-name-than-the-template");
	free(s);
}

static struct pa_change
change(const char *target, long current, long replicas, long seq)
{
	struct pa_change c = { 0 };

	c.target = strdup(target);
	c.current = current;
	c.replicas = replicas;
	c.seq = seq;
	return c;
}

static void
test_order(void)
{
	struct pa_changes cs = { 0 };
	struct pa_change c;

	c = change("deployment/down", 5, 2, 0);
	pa_changes_put(&cs, &c);
	c = change("deployment/unknown", -1, 2, 1);
	pa_changes_put(&cs, &c);
	c = change("deployment/up", 1, 4, 2);
	pa_changes_put(&cs, &c);
	c = change("deployment/up2", 1, 2, 3);
	pa_changes_put(&cs, &c);
	pa_changes_order(&cs);
	CHECK("order count", cs.n == 4);
	CHECK_STR("order first up", cs.v[0].target, "deployment/up");
	CHECK_STR("order second up", cs.v[1].target, "deployment/up2");
	CHECK_STR("order unknown", cs.v[2].target, "deployment/unknown");
	CHECK_STR("order down last", cs.v[3].target, "deployment/down");

	CHECK("cap up", pa_change_capped(&cs.v[0], 2) == 3);
	CHECK("cap down", pa_change_capped(&cs.v[3], 2) == 3);
	CHECK("cap within", pa_change_capped(&cs.v[1], 2) == 2);
	CHECK("cap unknown current", pa_change_capped(&cs.v[2], 1) == 2);
	CHECK("no cap", pa_change_capped(&cs.v[0], 0) == 4);
	pa_changes_free(&cs);
}

static void
test_read_current(void)
{
	struct pa_change c = { 0 };
	char why[200];

	c.op = PA_OP_SCALE;
	CHECK("scale read", pa_change_read_current(&c, "{\"spec\":{\"replicas\":3}}", why,
						    sizeof why) == 0 && c.current == 3);
	CHECK("scale absent is 0", pa_change_read_current(&c, "{\"spec\":{}}", why,
							   sizeof why) == 0 && c.current == 0);
	CHECK("scale not json", pa_change_read_current(&c, "oops", why, sizeof why) != 0);
	CHECK("scale negative", pa_change_read_current(&c, "{\"spec\":{\"replicas\":-1}}", why,
							sizeof why) != 0);
	c.op = PA_OP_HPA_FLOOR;
	CHECK("hpa read", pa_change_read_current(&c, "{\"spec\":{\"minReplicas\":2,"
						     "\"maxReplicas\":9}}", why, sizeof why) == 0 &&
				  c.current == 2 && c.hpa_max == 9);
}

int
main(void)
{
	test_names();
	test_quoting();
	test_templates();
	test_order();
	test_read_current();
	return unit_status();
}
