/* Unit tests for CSV records over physical lines. */
#include "csvin.h"
#include "diag.h"
#include "unit.h"

static struct {
	int n;
	long line[8];
	int nfields[8];
	char first[8][64], last[8][64];
	size_t rawlen[8];
} got;

static void
on_record(void *ctx, const struct pa_csvrec *rec)
{
	int i = got.n++;

	(void)ctx;
	if (i >= 8)
		return;
	got.line[i] = rec->lineno;
	got.nfields[i] = rec->nfields;
	snprintf(got.first[i], sizeof got.first[i], "%s", rec->field[0]);
	snprintf(got.last[i], sizeof got.last[i], "%s", rec->field[rec->nfields - 1]);
	got.rawlen[i] = rec->rawlen;
}

static void
feed(struct pa_csvin *c, const char *const *lines, int n)
{
	for (int i = 0; i < n; i++) {
		struct pa_line l = { (char *)lines[i], strlen(lines[i]), i + 1 };

		pa_csvin_line(c, "t.csv", &l, PA_CSV_WHOLE);
	}
	pa_csvin_finish(c);
}

int
main(void)
{
	struct pa_csvin c;
	static const char *const quoted[] = {
		"a,b,c", "1,\"x, y\",2", "", "3,\"multi", "line\",4", "5,\"say \"\"hi\"\"\",6"
	};
	static const char *const cut[] = { "a,b", "1,2", "3,\"open" };
	static const char *const tsv[] = { "a\tb", "x \"q\"\t y " };

	pa_diag_init("test_csvin");
	memset(&got, 0, sizeof got);
	pa_csvin_init(&c, ',', 1, 1 << 20, on_record, NULL);
	feed(&c, quoted, 6);
	CHECK("records counted", got.n == 4);
	CHECK("quoted comma is one field", got.nfields[1] == 3);
	CHECK("quoted comma is one field (2)", strcmp(got.last[1], "2") == 0);
	CHECK("blank line skipped, next record on line 4", got.line[2] == 4);
	CHECK("quoted newline joins lines", strcmp(got.last[2], "4") == 0);
	CHECK("raw record spans both lines", got.rawlen[2] == strlen("3,\"multi\nline\",4"));
	CHECK("doubled quotes", got.line[3] == 6);
	CHECK("doubled quotes (2)", got.nfields[3] == 3);
	pa_csvin_free(&c);

	memset(&got, 0, sizeof got);
	pa_csvin_init(&c, ',', 1, 1 << 20, on_record, NULL);
	feed(&c, cut, 3);
	CHECK("cut quoted field not handed over", got.n == 2);
	CHECK("cut quoted field rejected", pa_diag_rejected() == 1);
	pa_csvin_free(&c);

	memset(&got, 0, sizeof got);
	pa_csvin_init(&c, '\t', 0, 1 << 20, on_record, NULL);
	feed(&c, tsv, 2);
	CHECK("tsv quotes are data", got.n == 2);
	CHECK("tsv quotes are data (2)", strcmp(got.first[1], "x \"q\"") == 0);
	CHECK("tsv trims spaces only", strcmp(got.last[1], "y") == 0);
	pa_csvin_free(&c);

	memset(&got, 0, sizeof got);
	pa_csvin_init(&c, ',', 1, 16, on_record, NULL);
	{
		static const char *const runaway[] = { "a,b", "\"open,1", "more,2", "x,3" };

		feed(&c, runaway, 4);
	}
	CHECK("runaway quote bounded by max record", pa_diag_rejected() == 2);
	pa_csvin_free(&c);
	return unit_status();
}
