/* Unit tests for the JSON helpers of ndjson.h that messages use. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Write text of len bytes to a new temporary file and return its path. */
static char *
temp_file_with(const char *text, size_t len)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/pa-test-ndjson-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("temporary file");
		exit(1);
	}
	close(fd);
	return path;
}

/* Check whether a file holding text looks like record input, and the reason given. */
static void
check_looks(const char *name, const char *text, size_t len, int want, const char *want_why)
{
	char why[200] = "";
	char *path = temp_file_with(text, len);
	char label[160];

	snprintf(label, sizeof label, "%s: result", name);
	CHECK(label, pa_file_looks_like_records(path, why, sizeof why) == want);
	snprintf(label, sizeof label, "%s: reason", name);
	CHECK_STR(label, why, want_why);
	unlink(path);
}

static void
test_file_looks_like_records(void)
{
	static const char gzip_magic[] = { 0x1f, (char)0x8b, 8, 0 };
	const char *state = "{\"format_version\":3,\"series\":{}}\n";
	const char *two = "{\"ts\":1}\n{\"ts\":2}\n";
	char why[200] = "";

	check_looks("records with kind", "{\"kind\":\"bucket\",\"ts\":1}\n{\"kind\":\"bucket\"}\n",
		    strlen("{\"kind\":\"bucket\",\"ts\":1}\n{\"kind\":\"bucket\"}\n"), 1,
		    "line 1 is a record of kind \"bucket\"");
	check_looks("one record with kind", "{\"kind\":\"event\"}", strlen("{\"kind\":\"event\"}"), 1,
		    "line 1 is a record of kind \"event\"");
	check_looks("objects without kind", two, strlen(two), 1,
		    "line 1 is a JSON object of its own, and more lines follow");
	check_looks("gzip", gzip_magic, sizeof gzip_magic, 1, "it is gzip-compressed");
	check_looks("log line", "192.0.2.1 - - x\n", strlen("192.0.2.1 - - x\n"), 1,
		    "it begins with \"192.0.2.1 - - x\", not with the \"{\" of a JSON object");
	check_looks("compact state", state, strlen(state), 0, "");
	check_looks("pretty state", "{\n  \"series\": {}\n}\n", strlen("{\n  \"series\": {}\n}\n"), 0,
		    "");
	check_looks("state then blank lines", "{\"series\":{}}\n\n  \n",
		    strlen("{\"series\":{}}\n\n  \n"), 0, "");
	check_looks("truncated state", "{\"series\":{\"a/b\":", strlen("{\"series\":{\"a/b\":"), 0,
		    "");
	check_looks("empty file", "", 0, 0, "");
	CHECK("missing file", pa_file_looks_like_records("/nonexistent/pa-state.json", why,
							 sizeof why) == 0);
}

int
main(void)
{
	test_quote_json();
	test_quote_json_buffers();
	test_rec_series();
	test_rec_step_s();
	test_file_looks_like_records();
	return unit_status();
}
