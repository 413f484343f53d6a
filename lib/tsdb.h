/*
 * tsdb.h - records to and from time-series databases.
 *
 * Reading: prom.h and influx.h turn query results into samples, each with
 * a label set, a pa record field and a timestamp.  A struct pa_tsdb_acc
 * maps the labels to tenant, service and instance_id, groups samples into
 * usage and bucket records, and emits them sorted by series and time.
 *
 * Writing: struct pa_tsdb_out sends each record a tool would print as
 * NDJSON to stdout as NDJSON, OpenMetrics text or InfluxDB line protocol,
 * so the same tool feeds a file store, promtool or InfluxDB's /write.
 *
 * Metric names that map to record fields without --metric (the __name__
 * table; man/pa-tsdb.7 prints the same table):
 *
 *	container_cpu_usage_seconds_total      cpu_usage     counter, / cpu_limit
 *	container_memory_working_set_bytes     memory_usage  gauge, / memory_limit
 *	container_memory_usage_bytes           memory_usage  gauge, / memory_limit
 *	container_network_receive_bytes_total  network_io    counter, added to transmit
 *	container_network_transmit_bytes_total network_io    counter
 *	http_requests_total                    requests      counter, increase per step
 *	pa_usage_cpu_ratio, pa_usage_memory_ratio, pa_usage_network_bytes_per_second
 *	pa_bucket_requests, pa_bucket_errors, pa_bucket_work,
 *	pa_bucket_complexity, pa_bucket_request_bytes, pa_bucket_response_bytes
 *	pa_bucket_step_seconds, pa_bucket_covered_seconds,
 *	pa_bucket_covered_from_seconds      step_s, covered_s, covered_from_s
 *
 * The pa_* names are the ones pa writes, so a write and a read round-trip.
 */
#ifndef PA_TSDB_H
#define PA_TSDB_H

#include <jansson.h>
#include <stddef.h>

#include "timeutil.h"

/* Record fields a query result can fill. */
enum pa_tsdb_field {
	PA_TSDB_F_CPU_USAGE,
	PA_TSDB_F_MEMORY_USAGE,
	PA_TSDB_F_NETWORK_IO,
	PA_TSDB_F_REQUESTS,
	PA_TSDB_F_ERRORS,
	PA_TSDB_F_COMPLEXITY_SUM,
	PA_TSDB_F_COMPLEXITY_MEAN,
	PA_TSDB_F_BYTES_IN,
	PA_TSDB_F_BYTES_OUT,
	PA_TSDB_F_NFIELDS
};

/*
 * Bucket fields that describe the bucket rather than count in it, so their
 * samples are kept, not added.  step_s gives the width of a series with one
 * sample, and covered_s and covered_from_s keep a partial bucket partial
 * (pa-records(5)).
 */
enum pa_tsdb_meta {
	PA_TSDB_M_STEP_S,
	PA_TSDB_M_COVERED_S,
	PA_TSDB_M_COVERED_FROM_S,
	PA_TSDB_M_NMETA
};

/* Record fields that identify a series, filled from labels. */
enum pa_tsdb_key {
	PA_TSDB_K_TENANT,
	PA_TSDB_K_SERVICE,
	PA_TSDB_K_INSTANCE_ID,
	PA_TSDB_K_NKEYS
};

/* Conversion of a named metric's samples to a field value. */
enum pa_tsdb_conv {
	PA_TSDB_CONV_GAUGE,		/* the value as it is */
	PA_TSDB_CONV_RATE,		/* counter: per-second rate between samples */
	PA_TSDB_CONV_INCREASE,	/* counter: increase from one sample to the next */
	PA_TSDB_CONV_CPU,		/* counter of CPU seconds: rate / cpu_limit */
	PA_TSDB_CONV_MEMORY,		/* gauge of bytes: value / memory_limit */
	PA_TSDB_CONV_STEP,		/* gauge of a bucket's step_s */
	PA_TSDB_CONV_COVERED,		/* gauge of a partial bucket's covered_s */
	PA_TSDB_CONV_COVERED_FROM	/* gauge of a partial bucket's covered_from_s */
};

struct pa_tsdb_metric {
	const char *name;
	enum pa_tsdb_field field;
	enum pa_tsdb_conv conv;
};

enum pa_tsdb_input {
	PA_TSDB_IN_PROMETHEUS,
	PA_TSDB_IN_INFLUXDB
};

/* Options of a read, set by pa_tsdb_map_init and the --label/--metric/--step options. */
struct pa_tsdb_map {
	const char *label[PA_TSDB_K_NKEYS];	/* source label per key; NULL tries the defaults */
	int metric;			/* field for unknown names, or -1 */
	pa_usec_t step;			/* bucket width; 0 takes the sample spacing */
	double cpu_limit;		/* cores per instance (default 1) */
	int cpu_limit_given;		/* --cpu-limit was given */
	double memory_limit;		/* bytes per instance; 0 rejects byte gauges */
	int input;			/* --format: PA_TSDB_IN_*, or -1 for another format */
};

void pa_tsdb_map_init(struct pa_tsdb_map *map);

/*
 * Parse "FIELD=LABEL" for --label (FIELD is tenant, service or
 * instance_id).  Returns 0, or -1 with a message in err.  The map borrows
 * arg, which must outlive it.
 */
int pa_tsdb_map_label(struct pa_tsdb_map *map, const char *arg, char *err, size_t errsize);

/* A record field by its name ("requests"), or -1. */
int pa_tsdb_field_lookup(const char *name);
const char *pa_tsdb_field_name(enum pa_tsdb_field f);

/* Return the pa_tsdb_meta of a field that describes a bucket ("step_s"), or -1. */
int pa_tsdb_meta_lookup(const char *name);

/* The __name__ table entry for name, or NULL. */
const struct pa_tsdb_metric *pa_tsdb_metric_lookup(const char *name);

/*
 * Return the divisor of a sample that fills the --metric field:
 * --cpu-limit for cpu_usage and --memory-limit for memory_usage when
 * given, else 1.  rate() of a container's CPU counter is in cores, and
 * the limit turns it into a fraction, as it does for the counter itself.
 */
double pa_tsdb_metric_divisor(const struct pa_tsdb_map *map);

/* Called once per record read; rec is borrowed for the duration of the call. */
typedef void (*pa_tsdb_emit_fn)(const json_t *rec, void *ctx);

/*
 * Accumulator of samples for one input document.  Samples that map to the
 * same record and field are added, as sum by (namespace, pod) would add them.
 */
struct pa_tsdb_acc;

/* where names the input in messages; the accumulator borrows map and where. */
struct pa_tsdb_acc *pa_tsdb_acc_new(const struct pa_tsdb_map *map, const char *where, long lineno);

/*
 * Resolve the record a label set belongs to.  labels is a JSON object of
 * strings (borrowed); desc describes the series in messages; raw/rawlen is
 * the input text rejected, on line lineno, when the labels do not map.
 * Returns a group index for pa_tsdb_acc_add, or -1 after rejecting the
 * series.
 */
int pa_tsdb_acc_group(struct pa_tsdb_acc *acc, const json_t *labels, enum pa_tsdb_field field,
		      const char *desc, long lineno, const char *raw, size_t rawlen);

/* Add one finite sample to a group. */
void pa_tsdb_acc_add(struct pa_tsdb_acc *acc, int group, enum pa_tsdb_field field,
		     pa_usec_t ts, double value);

/*
 * Set a bucket field that describes the bucket at ts, such as its step_s.
 * group must be a bucket group.  A later value for the same bucket
 * replaces an earlier one.
 */
void pa_tsdb_acc_meta(struct pa_tsdb_acc *acc, int group, enum pa_tsdb_meta meta, pa_usec_t ts,
		      double value);

/*
 * Note that series (a Prometheus or InfluxDB series object, borrowed and
 * kept until the accumulator is freed) was read into group, so a reject
 * of the whole group keeps it in --rejects.
 */
void pa_tsdb_acc_source(struct pa_tsdb_acc *acc, int group, const json_t *series);

/*
 * Note the spacing of a group's samples, rejected ones included, so a
 * bucket width taken from the spacing is not widened by a dropped sample.
 */
void pa_tsdb_acc_spacing(struct pa_tsdb_acc *acc, int group, pa_usec_t gap);

/*
 * Emit every record, sorted by series (first seen first) and time, and
 * free the accumulator.  Returns the number of records emitted.
 */
long pa_tsdb_acc_finish(struct pa_tsdb_acc *acc, pa_tsdb_emit_fn emit, void *ctx);

/* Free without emitting. */
void pa_tsdb_acc_free(struct pa_tsdb_acc *acc);

/*
 * Describe a label set as a Prometheus selector, name{a="1",b="2"}, for
 * messages.  Returns malloc'd text that the caller frees.
 */
char *pa_tsdb_describe(const char *name, const json_t *labels);

/* Compact JSON text of v, malloc'd; the caller frees it. */
char *pa_tsdb_dump(const json_t *v);

/*
 * Count and reject doc[0..len), which jansson could not parse, as one
 * record starting on line lineno of where.  An invalid document runs to
 * the end of its input (pa_tsdb_read_files), so an error at its end means
 * the input was cut off, as by a dropped connection.
 */
void pa_tsdb_reject_invalid_json(const char *where, long lineno, const char *doc, size_t len,
				 const json_error_t *jerr);

/* ---- Output formats ---- */

/*
 * Find a record's tenant and service: the fields, or tenant_service_name
 * split at its first '/'.  Stores malloc'd copies that the caller frees.
 * Returns 0, or -1 with a message in err.
 */
int pa_tsdb_record_ids(const json_t *rec, char **tenant, char **service, char *err,
		       size_t errsize);


enum pa_tsdb_format {
	PA_TSDB_NDJSON,
	PA_TSDB_OPENMETRICS,
	PA_TSDB_INFLUX
};

/* Parse "ndjson", "openmetrics" or "influx"; returns 0, or -1. */
int pa_tsdb_format_parse(const char *s, enum pa_tsdb_format *out);

struct pa_tsdb_out;

struct pa_tsdb_out *pa_tsdb_out_new(enum pa_tsdb_format format);

/*
 * Write one output record in the chosen format.  Borrows rec.  In
 * openmetrics and influx formats only bucket, forecast and usage records
 * have a form; other kinds are counted and reported by pa_tsdb_out_finish.
 */
void pa_tsdb_out_record(struct pa_tsdb_out *out, const json_t *rec);

/* Write what is buffered (OpenMetrics families and "# EOF"), report skipped kinds, free. */
void pa_tsdb_out_finish(struct pa_tsdb_out *out);

/*
 * Read every operand ("-" or none: stdin) as a sequence of query-result
 * documents (JSON documents may span lines and follow each other; an
 * InfluxDB CSV response is one document per file) and emit records.
 * A max_line of PA_MAX_LINE_DEFAULT reads as PA_TSDB_MAX_LINE_DEFAULT.
 * Returns PA_EXIT_IO when an input could not be read, PA_EXIT_OK otherwise;
 * rejected documents and samples go through pa_reject.  Adds the number of
 * records emitted to *records.
 */

#define PA_TSDB_MAX_LINE_DEFAULT (256u << 20)	/* 256 MiB, used when max_line is the default */

int pa_tsdb_read_files(enum pa_tsdb_input fmt, int nfiles, char **files, size_t max_line,
		       const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx,
		       long *records);

/*
 * The --output-format option of pa-score and pa-forecast.  A tool adds
 * { "output-format", required_argument, NULL, PA_OPT_OUTPUT_FORMAT } to its
 * options, a usage line, calls
 * pa_tsdb_output_option(optarg) for the option and pa_tsdb_output_finish()
 * before pa_out_finish().  Every record the tool gives pa_out_json is then
 * written in the chosen format.
 */
#define PA_OPT_OUTPUT_FORMAT 1100

/* Parse FMT and route pa_out_json through its writer; a bad FMT is a usage error. */
void pa_tsdb_output_option(const char *arg);

/*
 * Return 1 when --output-format chose openmetrics or influx, so the
 * records passed through are converted, and 0 for ndjson.
 */
int pa_tsdb_output_converts(void);

/* Write what the format buffers (OpenMetrics families, "# EOF"); a no-op for ndjson. */
void pa_tsdb_output_finish(void);

/*
 * A usage error when the format chosen cannot stream: OpenMetrics text is
 * held until the input ends, which an endless --follow input never does.
 */
void pa_tsdb_output_check_follow(void);

/*
 * pa-ingest's options for --format prometheus and --format influxdb: add
 * PA_TSDB_INGEST_LONGOPTS to the option table, PA_TSDB_INGEST_USAGE to the
 * usage text, and pass every option to pa_tsdb_ingest_option first.
 * pa-ingest's own --step (map->step) and -f/--format ('f') are shared:
 * pa_tsdb_ingest_option takes --format's value when it names prometheus or
 * influxdb and leaves the others to the tool.
 */
enum {
	PA_OPT_TSDB_LABEL = 1110,
	PA_OPT_TSDB_METRIC,
	PA_OPT_TSDB_CPU_LIMIT,
	PA_OPT_TSDB_MEMORY_LIMIT
};

#define PA_TSDB_INGEST_LONGOPTS                                                   \
	{ "label", required_argument, NULL, PA_OPT_TSDB_LABEL },                  \
	{ "metric", required_argument, NULL, PA_OPT_TSDB_METRIC },                \
	{ "cpu-limit", required_argument, NULL, PA_OPT_TSDB_CPU_LIMIT },          \
	{ "memory-limit", required_argument, NULL, PA_OPT_TSDB_MEMORY_LIMIT }

#define PA_TSDB_INGEST_USAGE                                                                 \
	"Query results (--format prometheus: HTTP API JSON; --format influxdb:\n"             \
	"/query JSON or CSV):\n"                                                              \
	"      --label FIELD=LABEL  take tenant, service or instance_id from LABEL\n"         \
	"                         (default: tenant|namespace, service|container|job,\n"      \
	"                         instance_id|pod|instance)\n"                                \
	"      --metric FIELD     fill FIELD (requests, cpu_usage, ...) from every\n"         \
	"                         series (default: by metric name, see pa-tsdb(7))\n"         \
	"      --cpu-limit CORES  divide CPU seconds per second by CORES (default 1)\n"       \
	"      --memory-limit BYTES  divide memory bytes by BYTES (no default)\n"             \
	"      --step is the width of bucket records (default: their step_s, else\n"        \
	"                         the sample spacing); usage records keep each\n"         \
	"                         sample's time\n"                                          \
	"      --max-line is 268435456 (256 MiB) by default for these responses\n"

/* Handle one of the options above; returns 1 when c was one of them. */
int pa_tsdb_ingest_option(struct pa_tsdb_map *map, int c, const char *arg);

/* Print each emitted record with pa_out_json; ctx is unused. */
void pa_tsdb_emit_stdout(const json_t *rec, void *ctx);

#endif
