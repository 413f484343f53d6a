/*
 * prom.h - Prometheus HTTP API results in, OpenMetrics text out.
 *
 * pa_prom_read takes one response of /api/v1/query or /api/v1/query_range
 * ({"status":"success","data":{"resultType":"vector"|"matrix",...}}) and
 * emits usage or bucket records through the tsdb.h accumulator.
 *
 * The OpenMetrics writer follows Prometheus naming: gauges named
 * pa_<kind>_<quantity>_<unit>, labels tenant and service (and instance_id
 * for usage), forecasts with bound="point"|"lower"|"upper".  Families are
 * buffered so each is written in one block, as OpenMetrics requires, and
 * the text ends with "# EOF" for promtool tsdb create-blocks-from
 * openmetrics.
 */
#ifndef PA_PROM_H
#define PA_PROM_H

#include <jansson.h>
#include <stdio.h>

#include "tsdb.h"

/*
 * Read one API response document doc[0..len) that starts on line lineno
 * of input where.  Rejected samples, series and documents are reported
 * with pa_reject.  Returns the number of records emitted, or -1 when the
 * whole document was rejected (an error response, invalid JSON, a scalar
 * or string result).
 */
long pa_prom_read(const char *where, long lineno, const char *doc, size_t len,
		  const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx);

/* The same for a document already parsed: root is borrowed, doc[0..len) is kept for --rejects. */
long pa_prom_read_json(const char *where, long lineno, const json_t *root, const char *doc,
		       size_t len, const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx);

struct pa_om_writer;

struct pa_om_writer *pa_om_writer_new(void);

/*
 * Buffer the samples of one record.  Borrows rec.  Returns 1 when written,
 * 0 for a kind without an OpenMetrics form, -1 with a message in err when
 * the record lacks what the form needs (nothing is buffered then).
 */
int pa_om_write_record(struct pa_om_writer *w, const json_t *rec, char *err, size_t errsize);

/* Write the buffered families and "# EOF" to out, then free w.  Returns 0, or -1 on a write error. */
int pa_om_writer_finish(struct pa_om_writer *w, FILE *out);

/*
 * Write v rounded to 12 significant digits, the precision of pa's NDJSON
 * output, in the shortest decimal form that reads back as that number,
 * into buf (at least 32 bytes).  So every output format holds the same
 * values as the NDJSON output would.
 */
char *pa_tsdb_format_double(double v, char *buf, size_t size);

#endif
