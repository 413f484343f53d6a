/* Unit tests for the JSON helpers of ndjson.h that messages use. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ndjson.h"
#include "unit.h"

/* Check pa_quote_json on the value that the JSON text parses to. */
static void
check_quote(const char *name, const char *text, const char *want)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	CHECK_STR(name, v ? pa_quote_json(v) : jerr.text, want);
	json_decref(v);
}

static void
test_quote_json(void)
{
	char *long_array = malloc(200);

	check_quote("quote string", "\"200\"", "string \"200\"");
	check_quote("quote integer", "200", "number 200");
	check_quote("quote negative", "-1", "number -1");
	check_quote("quote real", "2.5", "number 2.5");
	check_quote("quote true", "true", "boolean true");
	check_quote("quote false", "false", "boolean false");
	check_quote("quote null", "null", "null");
	check_quote("quote object", "{\"a\":1}", "object {\"a\":1}");
	check_quote("quote array", "[1, 2]", "array [1,2]");
	check_quote("quote string escapes", "\"a\\\"b\\u0001\"", "string \"a\\\"b\\x01\"");
	check_quote("quote object in ASCII", "{\"a\":\"\\u00e9\"}", "object {\"a\":\"\\u00E9\"}");
	CHECK_STR("quote missing", pa_quote_json(NULL), "(missing)");

	/* [1 and 40 times ,1 and ]: 83 characters, cut to 60 and marked. */
	strcpy(long_array, "[1");
	for (int i = 0; i < 40; i++)
		strcat(long_array, ",1");
	strcat(long_array, "]");
	check_quote("quote long array cut", long_array,
		    "array [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1...");
	free(long_array);
}

/* Four results in one call stay distinct, as a message with four values needs. */
static void
test_quote_json_buffers(void)
{
	json_t *a = json_string("a"), *b = json_integer(2), *c = json_true(),
	       *d = json_pack("[i]", 4);
	char line[200];

	snprintf(line, sizeof line, "%s, %s, %s, %s", pa_quote_json(a), pa_quote_json(b),
		 pa_quote_json(c), pa_quote_json(d));
	CHECK_STR("quote four in one call", line,
		  "string \"a\", number 2, boolean true, array [4]");
	json_decref(a);
	json_decref(b);
	json_decref(d);
}

/* Check pa_rec_series on the record that text parses to: want is the name, or the message. */
static void
check_series(const char *name, const char *text, const char *want)
{
	json_t *rec = json_loads(text, 0, NULL);
	char why[200];
	const char *got = pa_rec_series(rec, why, sizeof why);

	CHECK_STR(name, got ? got : why, want);
	json_decref(rec);
}

static void
test_rec_series(void)
{
	const char *rule = "field \"tenant_service_name\" is not TENANT/SERVICE: ";

	check_series("series valid", "{\"tenant_service_name\":\"shop/api\"}", "shop/api");
	check_series("series missing", "{}", "field \"tenant_service_name\" is missing");

	static const struct {
		const char *name, *value, *quoted;
	} bad[] = {
		{ "series number", "5", "number 5" },
		{ "series null", "null", "null" },
		{ "series no slash", "\"noslash\"", "string \"noslash\"" },
		{ "series empty tenant", "\"/api\"", "string \"/api\"" },
		{ "series empty service", "\"shop/\"", "string \"shop/\"" },
		{ "series two slashes", "\"a/b/c\"", "string \"a/b/c\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[100], want[200];

		snprintf(text, sizeof text, "{\"tenant_service_name\":%s}", bad[i].value);
		snprintf(want, sizeof want, "%s%s", rule, bad[i].quoted);
		check_series(bad[i].name, text, want);
	}
}

/* Return what pa_rec_step_s returns for the record that text parses to. */
static int
step_result(const char *text, double *step)
{
	json_t *rec = json_loads(text, 0, NULL);
	int got = pa_rec_step_s(rec, step);

	json_decref(rec);
	return got;
}

static void
test_rec_step_s(void)
{
	double step = 0;

	CHECK("step 3600 valid", step_result("{\"step_s\":3600}", &step) == 1);
	CHECK("step 3600 value", step == 3600);
	CHECK("step 1 valid", step_result("{\"step_s\":1}", &step) == 1);
	CHECK("step 366 days valid", step_result("{\"step_s\":31622400}", &step) == 1);
	CHECK("step absent", step_result("{}", &step) == 0);
	CHECK("step null", step_result("{\"step_s\":null}", &step) == 0);
	CHECK("step fraction invalid", step_result("{\"step_s\":3600.5}", &step) == -1);
	CHECK("step below 1 invalid", step_result("{\"step_s\":0.5}", &step) == -1);
	CHECK("step zero invalid", step_result("{\"step_s\":0}", &step) == -1);
	CHECK("step above 366 days invalid", step_result("{\"step_s\":31622401}", &step) == -1);
	CHECK("step string invalid", step_result("{\"step_s\":\"300\"}", &step) == -1);
}

int
main(void)
{
	test_quote_json();
	test_quote_json_buffers();
	test_rec_series();
	test_rec_step_s();
	return unit_status();
}
