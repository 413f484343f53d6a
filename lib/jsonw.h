/*
 * jsonw.h - a direct NDJSON record writer for the hot path.
 *
 * pa-ingest writes millions of request records, and building a jansson
 * object per line costs more than parsing the line.  This writer appends
 * keys and values straight into a growing buffer.  Strings are escaped by
 * JSON rules, and bytes that are not valid UTF-8, and NUL, are written as
 * U+FFFD, so every line written is valid JSON that jansson reads with its
 * default flags, whatever the log contained.  Numbers
 * follow pa_rec_set_num: whole values as integers, others with 12
 * significant digits, NaN and infinities as null.
 */
#ifndef PA_JSONW_H
#define PA_JSONW_H

#include <stddef.h>

#include "timeutil.h"

struct pa_jsonw {
	char *buf;		/* owned by the writer */
	size_t len, cap;
	size_t start;		/* where the current record starts in buf */
	int fields;		/* fields written in the current record */
	long records;		/* records written so far */
	int hold;		/* keep every record in buf: its owner writes buf out itself */
};

/* Finished records are kept in the buffer until this many bytes wait, then written at once. */
#define PA_JSONW_BATCH (64u * 1024u)

void pa_jsonw_init(struct pa_jsonw *w);
void pa_jsonw_free(struct pa_jsonw *w);

/* Start a record: "{". */
void pa_jsonw_begin(struct pa_jsonw *w);

/* Append "key":"value" for a value known to need no escaping, such as a cleaned name. */
void pa_jsonw_plain(struct pa_jsonw *w, const char *key, const char *s, size_t len);

/* Append "key":"value", escaping value (len bytes, need not be NUL-terminated). */
void pa_jsonw_str(struct pa_jsonw *w, const char *key, const char *s, size_t len);
void pa_jsonw_cstr(struct pa_jsonw *w, const char *key, const char *s);
void pa_jsonw_int(struct pa_jsonw *w, const char *key, long long v);
void pa_jsonw_num(struct pa_jsonw *w, const char *key, double v);
void pa_jsonw_bool(struct pa_jsonw *w, const char *key, int v);

/* Append "key":json where json is already valid JSON text (an object or array). */
void pa_jsonw_raw(struct pa_jsonw *w, const char *key, const char *json, size_t len);

/* Append "key":"RFC 3339 UTC time". */
void pa_jsonw_time(struct pa_jsonw *w, const char *key, pa_usec_t t);

/*
 * End the record with "}\n".  Records are written to stdout through
 * pa_out_write in batches, so call pa_jsonw_flush before writing anything
 * else to stdout, and before exiting.
 */
void pa_jsonw_end(struct pa_jsonw *w);

/* Write the finished records still in the buffer. */
void pa_jsonw_flush(struct pa_jsonw *w);

/*
 * Append s[0..len) to w as the body of a JSON string (no quotes): escapes
 * '"', '\\' and control characters, and replaces NUL and invalid UTF-8
 * with U+FFFD.
 */
void pa_jsonw_escape(struct pa_jsonw *w, const char *s, size_t len);

#endif
