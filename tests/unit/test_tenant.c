/* Unit tests for tenant and service rules, name cleaning, path normalising and maps. */
#include <stdio.h>
#include <stdlib.h>

#include "tenant.h"
#include "unit.h"

static struct pa_span
span(const char *s)
{
	struct pa_span sp = { s, s ? strlen(s) : 0 };

	return sp;
}

static void
resolve(struct pa_tenancy *t, const char *host, const char *path, const char *referer,
	char *tenant, char *service)
{
	struct pa_rule_input in;

	memset(&in, 0, sizeof in);
	in.host = span(host);
	in.path = span(path);
	in.referer = span(referer);
	pa_tenancy_resolve(t, &in, tenant, service);
}

static const char *
norm(struct pa_tenancy *t, const char *path)
{
	static char out[256];

	pa_path_normalise(t, path, strlen(path), out, sizeof out);
	return out;
}

int
main(void)
{
	struct pa_tenancy t;
	char tenant[PA_NAME_MAX], service[PA_NAME_MAX], err[256], name[PA_NAME_MAX];
	struct pa_rule r;

	pa_tenancy_init(&t);
	resolve(&t, "Shop.Example.com:8443", "/api/v1/x", NULL, tenant, service);
	CHECK_STR("default tenant is host", tenant, "shop.example.com");
	CHECK_STR("default service is first segment", service, "api");
	resolve(&t, NULL, "/favicon.ico", NULL, tenant, service);
	CHECK_STR("no host falls back", tenant, "default");
	CHECK_STR("root file is root", service, "root");
	resolve(&t, "192.0.2.1:80", "/", NULL, tenant, service);
	CHECK_STR("IP host names no tenant", tenant, "default");
	resolve(&t, "[2001:db8::1]:443", "/a/", NULL, tenant, service);
	CHECK_STR("IPv6 host names no tenant", tenant, "default");
	CHECK_STR("directory segment is service", service, "a");
	resolve(&t, NULL, "/A%20Beka/x.mp4", NULL, tenant, service);
	CHECK_STR("segment is percent-decoded", service, "a-beka");
	pa_tenancy_free(&t);

	/* Chains: the first rule with a value wins, then the fallback. */
	pa_tenancy_init(&t);
	CHECK("subdomain rule parses", pa_tenancy_add_rule(&t, 0, "subdomain", err, sizeof err) == 0);
	CHECK("referer rule parses", pa_tenancy_add_rule(&t, 0, "referer", err, sizeof err) == 0);
	CHECK("regex rule parses",
	      pa_tenancy_add_rule(&t, 1, "regex:path:^/v[0-9]+/([a-z]+)", err, sizeof err) == 0);
	CHECK("fixed service parses", pa_tenancy_add_rule(&t, 1, "web", err, sizeof err) == 0);
	resolve(&t, "acme.shop.example.com", "/v2/orders/1", NULL, tenant, service);
	CHECK_STR("subdomain wins", tenant, "acme");
	CHECK_STR("regex capture", service, "orders");
	resolve(&t, "example.com", "/other", "https://user@Partner.example.org:8080/p", tenant, service);
	CHECK_STR("two labels fall to referer", tenant, "partner.example.org");
	CHECK_STR("fixed value after regex", service, "web");
	pa_tenancy_free(&t);

	CHECK("path:0 rejected", pa_rule_parse("path:0", &r, err, sizeof err) == -1);
	CHECK("empty field rejected", pa_rule_parse("field:", &r, err, sizeof err) == -1);
	CHECK("bad regex source rejected", pa_rule_parse("regex:cookie:x", &r, err, sizeof err) == -1);
	CHECK("empty value rejected", pa_rule_parse("value:///", &r, err, sizeof err) == -1);

	CHECK("clean keeps safe characters", pa_name_clean("a.b_c-d", 7, 0, name) == 7);
	pa_name_clean("Team A / \"Ops\"", 14, 0, name);
	CHECK_STR("clean replaces the rest", name, "Team-A-Ops");
	pa_name_clean("Team", 4, 1, name);
	CHECK_STR("clean folds case", name, "team");
	char longname[200];

	memset(longname, 'x', sizeof longname);
	CHECK("clean cuts to 63", pa_name_clean(longname, sizeof longname, 0, name) == PA_NAME_MAX - 1);

	/* Ids become {id}; templates win; --keep-ids keeps them. */
	pa_tenancy_init(&t);
	CHECK_STR("digits are ids", norm(&t, "/items/123/photos/7"), "/items/{id}/photos/{id}");
	CHECK_STR("uuid is id", norm(&t, "/c/550e8400-e29b-41d4-a716-446655440000"), "/c/{id}");
	CHECK_STR("long hex is id", norm(&t, "/x/9f86d081884c7d65"), "/x/{id}");
	CHECK_STR("short hex is not id", norm(&t, "/x/beef"), "/x/beef");
	CHECK_STR("words stay", norm(&t, "/v1/users"), "/v1/users");
	CHECK("template added", pa_tenancy_add_template(&t, "/users/{user}/orders", err, sizeof err) == 0);
	CHECK_STR("template replaces", norm(&t, "/users/alice/orders"), "/users/{user}/orders");
	CHECK_STR("template needs same length", norm(&t, "/users/alice/orders/1"), "/users/alice/orders/{id}");
	CHECK("template must be absolute", pa_tenancy_add_template(&t, "users", err, sizeof err) == -1);
	t.keep_ids = 1;
	CHECK_STR("keep ids", norm(&t, "/items/123"), "/items/123");
	pa_tenancy_free(&t);

	/* Map file: exact keys, tenant wildcards, and "*" keeping a part. */
	{
		char path[] = "/tmp/pa-test-map-XXXXXX";
		int fd = mkstemp(path);
		FILE *fp = fdopen(fd, "w");

		fputs("# comment\n\nacme/api acme-corp/public-api\ninitech/* initech-llc/*\nglobex/web */storefront\n", fp);
		fclose(fp);
		pa_tenancy_init(&t);
		pa_tenancy_add_rule(&t, 0, "path:1", err, sizeof err);
		pa_tenancy_add_rule(&t, 1, "path:2", err, sizeof err);
		CHECK("map loads", pa_tenancy_load_map(&t, path, err, sizeof err) == 0);
		resolve(&t, NULL, "/acme/api/x", NULL, tenant, service);
		CHECK("map exact key", strcmp(tenant, "acme-corp") == 0);
		CHECK("map exact key (2)", strcmp(service, "public-api") == 0);
		resolve(&t, NULL, "/initech/reports/x", NULL, tenant, service);
		CHECK("map tenant wildcard", strcmp(tenant, "initech-llc") == 0);
		CHECK("map tenant wildcard (2)", strcmp(service, "reports") == 0);
		resolve(&t, NULL, "/globex/web/x", NULL, tenant, service);
		CHECK("map keeps tenant", strcmp(tenant, "globex") == 0);
		CHECK("map keeps tenant (2)", strcmp(service, "storefront") == 0);
		resolve(&t, NULL, "/other/web/x", NULL, tenant, service);
		CHECK("unmapped unchanged", strcmp(tenant, "other") == 0);
		CHECK("unmapped unchanged (2)", strcmp(service, "web") == 0);
		pa_tenancy_free(&t);

		fp = fopen(path, "w");
		fputs("acme/api\n", fp);
		fclose(fp);
		pa_tenancy_init(&t);
		CHECK("map line without value rejected", pa_tenancy_load_map(&t, path, err, sizeof err) == -1);
		CHECK("map error names the line", strstr(err, ":1:") != NULL);
		pa_tenancy_free(&t);
		remove(path);
		CHECK("missing map rejected", pa_tenancy_load_map(&t, path, err, sizeof err) == -1);
	}
	return unit_status();
}
