#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "unit.h"

static const char doc[] =
	"\n"
	"{\"skip\": {\"values\": [\"}\", \"]\\\"\"]},\n"
	" \"values\": [\n"
	"   [1, \"a\"],\n"
	"   {\"x\": [2]}, \"q\\\"\", -1.5e3,\n"
	"   null\n"
	" ],\n"
	" \"dup\": 1,\n"
	" \"d\\u0075p\": [\n"
	"  true]\n"
	"}";

static void
test_member_and_elements(void)
{
	size_t len = strlen(doc);
	struct pa_json_pos root = pa_json_pos_root(doc, len, 10);
	struct pa_json_pos p = root, el[8];

	CHECK("root skips blank line", root.line == 11);
	CHECK("root starts at brace", doc[root.off] == '{');
	CHECK("member found", pa_json_pos_member(doc, len, &p, "values") == 0);
	CHECK("member line", p.line == 12);
	CHECK("element count", pa_json_pos_elements(doc, len, p, el, 8) == 5);
	CHECK("element 0 line line", el[0].line == 13);
	CHECK("element 0 line byte", doc[el[0].off] == '[');
	CHECK("element 1 line line", el[1].line == 14);
	CHECK("element 1 line byte", doc[el[1].off] == '{');
	CHECK("element 2 after escaped quote line", el[2].line == 14);
	CHECK("element 2 after escaped quote byte", doc[el[2].off] == '"');
	CHECK("element 3 number line", el[3].line == 14);
	CHECK("element 3 number byte", doc[el[3].off] == '-');
	CHECK("element 4 next line line", el[4].line == 15);
	CHECK("element 4 next line byte", doc[el[4].off] == 'n');
	CHECK("elements past max counted", pa_json_pos_elements(doc, len, p, el, 2) == 5);
}

static void
test_keys(void)
{
	size_t len = strlen(doc);
	struct pa_json_pos root = pa_json_pos_root(doc, len, 1), p = root;

	/* "dup" repeats, once spelled with an escape; jansson keeps the last. */
	CHECK("escaped duplicate key found", pa_json_pos_member(doc, len, &p, "dup") == 0);
	CHECK("escaped duplicate key is last", doc[p.off] == '[');
	CHECK("escaped duplicate key line", p.line == 9);
	p = root;
	CHECK("missing key", pa_json_pos_member(doc, len, &p, "none") == -1);
	CHECK("missing key keeps pos", p.off == root.off);
	CHECK("nested key not taken", pa_json_pos_member(doc, len, &p, "x") == -1);
	CHECK("member of array fails", pa_json_pos_member("[1]", 3, &p, "x") == -1);
}

static void
test_edges(void)
{
	struct pa_json_pos p = pa_json_pos_root("[]", 2, 1), el[1];

	CHECK("empty array", pa_json_pos_elements("[]", 2, p, el, 1) == 0);
	p = pa_json_pos_root("{}", 2, 1);
	CHECK("elements of object fails", pa_json_pos_elements("{}", 2, p, el, 1) == -1);
	/* Text cut short must end the walk, not read past len. */
	p = pa_json_pos_root("[\"ab\\", 5, 1);
	CHECK("cut string ends", pa_json_pos_elements("[\"ab\\", 5, p, el, 1) == 1);
	p = pa_json_pos_root("[[1,", 4, 1);
	CHECK("cut array ends", pa_json_pos_elements("[[1,", 4, p, el, 1) == 1);
}

/* Element lines come out only when the count matches the array's. */
static void
test_element_lines(void)
{
	size_t len = strlen(doc);
	struct pa_json_pos root = pa_json_pos_root(doc, len, 10);
	long *lines = pa_json_pos_element_lines(doc, len, root, "values", 5);

	CHECK("element lines found", lines != NULL);
	if (lines != NULL) {
		CHECK("element line 0", lines[0] == 13);
		CHECK("element line 1", lines[1] == 14);
		CHECK("element line 3", lines[3] == 14);
		CHECK("element line 4", lines[4] == 15);
	}
	free(lines);
	CHECK("wrong count gives none", pa_json_pos_element_lines(doc, len, root, "values", 4) == NULL);
	CHECK("missing key gives none", pa_json_pos_element_lines(doc, len, root, "none", 5) == NULL);
}

int
main(void)
{
	test_member_and_elements();
	test_keys();
	test_edges();
	test_element_lines();
	return unit_status();
}
