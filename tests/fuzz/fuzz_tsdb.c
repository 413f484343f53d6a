/*
 * libFuzzer target for the Prometheus and InfluxDB response readers: the
 * same bytes go to both readers, and every record they emit is written
 * back as OpenMetrics and as line protocol.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "influx.h"
#include "prom.h"
#include "tsdb.h"

struct sinks {
	struct pa_om_writer *om;
	FILE *lp;
};

static void
write_back(const json_t *rec, void *ctx)
{
	struct sinks *s = ctx;
	char err[200];

	pa_om_write_record(s->om, rec, err, sizeof err);
	pa_influx_write_record(s->lp, rec, err, sizeof err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pa_tsdb_map map;
	struct sinks s;
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull == NULL)
		return 0;

	/* Silence diagnostics for this input only, so libFuzzer can still report. */
	int saved = dup(STDERR_FILENO), fd = open("/dev/null", O_WRONLY);

	dup2(fd, STDERR_FILENO);
	pa_tsdb_map_init(&map);
	s.om = pa_om_writer_new();
	s.lp = devnull;
	pa_prom_read("fuzz", 1, (const char *)data, size, &map, write_back, &s);
	pa_influx_read("fuzz", 1, (const char *)data, size, &map, write_back, &s);
	map.metric = PA_TSDB_F_REQUESTS;
	map.step = 60 * PA_USEC_PER_SEC;
	pa_prom_read("fuzz", 1, (const char *)data, size, &map, write_back, &s);
	pa_influx_read("fuzz", 1, (const char *)data, size, &map, write_back, &s);
	pa_om_writer_finish(s.om, devnull);
	fclose(devnull);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	return 0;
}
