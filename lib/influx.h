/*
 * influx.h - InfluxDB 1.x query results in, line protocol out.
 *
 * pa_influx_read takes one response of /query, JSON
 * ({"results":[{"series":[...]}]}) or CSV (Accept: application/csv,
 * columns name,tags,time,...), and emits usage or bucket records through
 * the tsdb.h accumulator.  A column named like a record field
 * (SELECT mean(x) AS requests) fills that field; string columns and series
 * tags are labels.
 *
 * The line-protocol writer puts bucket records in measurement pa_bucket,
 * forecasts in pa_forecast and usage in pa_usage, with tags tenant and
 * service (and instance_id), record fields as float fields, the model as a
 * string field, and nanosecond timestamps.
 */
#ifndef PA_INFLUX_H
#define PA_INFLUX_H

#include <jansson.h>
#include <stdio.h>

#include "tsdb.h"

/*
 * Read one /query response doc[0..len) that starts on line lineno of where.
 * A document whose first byte is '{' is JSON, anything else CSV.  Returns
 * the number of records emitted, or -1 when the whole document was
 * rejected (an error response, invalid JSON or CSV).
 */
long pa_influx_read(const char *where, long lineno, const char *doc, size_t len,
		    const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx);

/*
 * Read a JSON document already parsed.  root is borrowed, and doc[0..len)
 * is kept for --rejects.  A chunked response (chunked=true) comes as several
 * documents, each marked "partial": true but the last, and rows of one series
 * may be split between them.  So a partial document's samples are kept in
 * *pending and read together with the next documents, and nothing is emitted
 * until the document that ends the response.  Start with *pending NULL, and
 * give a *pending left at the end of the input to pa_tsdb_acc_finish.
 */
long pa_influx_read_json(const char *where, long lineno, const json_t *root, const char *doc,
			 size_t len, const struct pa_tsdb_map *map, struct pa_tsdb_acc **pending,
			 pa_tsdb_emit_fn emit, void *ctx);

/*
 * Write one record as a line of line protocol.  Borrows rec.  Returns 1
 * when written, 0 for a kind without a line-protocol form, -1 with a
 * message in err when the record cannot be written (nothing is written).
 */
int pa_influx_write_record(FILE *out, const json_t *rec, char *err, size_t errsize);

#endif
