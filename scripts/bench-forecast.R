# Rolling-origin comparison of pa-forecast with R's forecast package.
# Run through scripts/bench-forecast, which sets the environment:
#   PA_FORECAST  path of the pa-forecast binary
#   SHARED       the real-data folder
#   ORIGINS      rolling origins per series, fewer where a series is too short
#   R_METHODS    comma-separated subset of snaive,ets,arima,stlf,tbats
#   OUT          folder for the per-fit results (results.tsv)
#   R_CACHE      optional results.tsv of an earlier run: R's rows are read
#                from it instead of refitting, so a change to pa-forecast
#                can be measured in seconds against the same R numbers
#   PA_ARGS      optional extra pa-forecast options, split at spaces, such
#                as "--model ets" to measure one model instead of auto
#   INPUT_DIR    optional folder that keeps each series' pa-forecast input
#                as NAME.ndjson (one series bench/oNN per origin)
#   PA_REPEAT    runs of pa-forecast at the 95% level whose least CPU time
#                is kept (default 1)
#   SERIES       "core" (default) for the five series below, "twitter" for
#                the other seven NAB Twitter mention streams, or "all"
#
# Times are CPU seconds (user plus system), pa-forecast's as a child
# process, so that other jobs on the machine change them less than they
# change elapsed time.  Linux counts them in ticks of 10 ms.
suppressMessages(library(forecast))

shared <- Sys.getenv("SHARED")
pa <- Sys.getenv("PA_FORECAST")
origins <- as.integer(Sys.getenv("ORIGINS", "4"))
r_methods <- strsplit(Sys.getenv("R_METHODS", "snaive,ets,arima,stlf,tbats"), ",")[[1]]
out_dir <- Sys.getenv("OUT")
cache_file <- Sys.getenv("R_CACHE")
pa_extra <- strsplit(Sys.getenv("PA_ARGS", ""), " ", fixed = TRUE)[[1]]
pa_extra <- pa_extra[pa_extra != ""]
pa_repeat <- max(1L, as.integer(Sys.getenv("PA_REPEAT", "1")))
cached <- NULL
if (cache_file != "" && file.exists(cache_file)) {
	cached <- read.delim(cache_file, stringsAsFactors = FALSE)
	cached <- cached[startsWith(cached$method, "R-"), ]
}

# Sum a timestamped CSV into regular buckets of step seconds, empty buckets as 0.
regular <- function(path, time_col, value_col, fmt, step) {
	d <- read.csv(path, stringsAsFactors = FALSE)
	t <- as.numeric(as.POSIXct(d[[time_col]], format = fmt, tz = "UTC"))
	b <- (t %/% step) * step
	sums <- tapply(d[[value_col]], b, sum)
	grid <- seq(min(b), max(b), by = step)
	v <- as.numeric(sums[as.character(grid)])
	v[is.na(v)] <- 0
	list(ts = grid, y = v, step = step)
}

series <- list(
	list(name = "nyc-taxi-30m", file = "nab-known-cause/nyc_taxi.csv", tcol = "timestamp",
	     vcol = "value", fmt = "%Y-%m-%d %H:%M:%S", step = 1800, m = 48, m2 = 336,
	     train = 14 * 48, h = 48, end = "2015-01-20 00:00:00",
	     pa_args = c("--period", "1d", "--period2", "1w")),
	list(name = "wc98-1h", file = "wc98-requests/wc98_requests_per_minute.csv", tcol = "period",
	     vcol = "count", fmt = "%Y-%m-%d %H:%M:%S", step = 3600, m = 24, m2 = 168,
	     train = 28 * 24, h = 24, end = "1998-07-13 00:00:00",
	     pa_args = c("--period", "1d", "--period2", "1w")),
	list(name = "elb-requests-1h", file = "nab-aws-cloudwatch/elb_request_count_8c0756.csv",
	     tcol = "timestamp", vcol = "value", fmt = "%Y-%m-%d %H:%M:%S", step = 3600, m = 24,
	     m2 = 0, train = 8 * 24, h = 24, end = "",
	     pa_args = c("--period", "1d", "--period2", "0")),
	list(name = "twitter-aapl-1h", file = "nab-tweets/Twitter_volume_AAPL.csv", tcol = "timestamp",
	     vcol = "value", fmt = "%Y-%m-%d %H:%M:%S", step = 3600, m = 24, m2 = 168,
	     train = 28 * 24, h = 24, end = "",
	     pa_args = c("--period", "1d", "--period2", "1w")),
	list(name = "peyton-manning-1d", file = "wikipedia-pageviews/peyton_manning_daily_views.csv",
	     tcol = "ds", vcol = "y", fmt = "%Y-%m-%d", step = 86400, m = 7, m2 = 0,
	     train = 3 * 365, h = 28, end = "",
	     pa_args = c("--period", "1w", "--period2", "0"))
)

# The other Twitter streams, hourly like AAPL: bursty counts whose best R
# model differs from stream to stream.
twitter <- lapply(c("AMZN", "CRM", "FB", "GOOG", "IBM", "KO", "PFE"), function(tk)
	list(name = paste0("twitter-", tolower(tk), "-1h"),
	     file = sprintf("nab-tweets/Twitter_volume_%s.csv", tk), tcol = "timestamp",
	     vcol = "value", fmt = "%Y-%m-%d %H:%M:%S", step = 3600, m = 24, m2 = 168,
	     train = 28 * 24, h = 24, end = "",
	     pa_args = c("--period", "1d", "--period2", "1w")))
series <- switch(Sys.getenv("SERIES", "core"), core = series, twitter = twitter,
		 all = c(series, twitter), stop("SERIES must be core, twitter or all"))

# Mean absolute scaled error, scaled by the in-sample seasonal naive error.
mase <- function(train, m, actual, pred) {
	scale <- mean(abs(diff(train, lag = m)))
	mean(abs(actual - pred)) / scale
}

covered <- function(actual, lo, hi) mean(actual >= lo & actual <= hi)

cpu_self <- function() { p <- proc.time(); p[["user.self"]] + p[["sys.self"]] }
cpu_child <- function() { p <- proc.time(); p[["user.child"]] + p[["sys.child"]] }

fit_r <- function(method, y, m, m2, h) {
	x <- ts(y, frequency = m)
	msx <- if (m2 > 0) msts(y, seasonal.periods = c(m, m2)) else x
	switch(method,
	       snaive = snaive(x, h = h, level = c(80, 95)),
	       ets = forecast(suppressWarnings(ets(x)), h = h, level = c(80, 95)),
	       arima = forecast(auto.arima(x), h = h, level = c(80, 95)),
	       stlf = stlf(msx, h = h, level = c(80, 95)),
	       tbats = forecast(tbats(msx), h = h, level = c(80, 95)))
}

rows <- list()
add_row <- function(s, o, method, train, actual, mean, lo80, hi80, lo95, hi95, secs) {
	rows[[length(rows) + 1]] <<- data.frame(series = s$name, origin = o, method = method,
		mase = mase(train, s$m, actual, mean), cov80 = covered(actual, lo80, hi80),
		cov95 = covered(actual, lo95, hi95), secs = secs)
}

# pa-forecast output as a table, one row per record, read through jq.
read_pa <- function(path) {
	tsv <- system2("jq", c("-r", shQuote("[.tenant_service_name, .horizon_steps, .predicted_volume, .volume_lower, .volume_upper] | @tsv"), shQuote(path)), stdout = TRUE)
	d <- read.table(text = tsv, sep = "\t", col.names = c("name", "k", "mean", "lo", "hi"))
	d[order(d$name, d$k), ]
}

for (s in series) {
	r <- regular(file.path(shared, "data", s$file), s$tcol, s$vcol, s$fmt, s$step)
	last <- length(r$y)
	if (s$end != "")
		last <- which(r$ts == as.numeric(as.POSIXct(s$end, tz = "UTC"))) - 1
	# A series too short for every origin gets as many as its training
	# window leaves room for.
	n_orig <- min(origins, (last - s$train) %/% s$h)
	if (n_orig < origins)
		cat(sprintf("%s: %d origins, as many as the series holds\n", s$name, n_orig),
		    file = stderr())
	starts <- last - s$h * (n_orig:1) + 1	# first test bucket per origin

	# pa: every origin's training window as its own series, one run per level.
	nd <- tempfile(fileext = ".ndjson")
	lines <- character(0)
	for (o in seq_along(starts)) {
		idx <- (starts[o] - s$train):(starts[o] - 1)
		lines <- c(lines, sprintf('{"kind":"bucket","ts":%.0f,"step_s":%d,"tenant_service_name":"bench/o%02d","requests":%.10g}',
					  r$ts[idx], s$step, o, r$y[idx]))
	}
	writeLines(lines, nd)
	if (Sys.getenv("INPUT_DIR") != "")
		file.copy(nd, file.path(Sys.getenv("INPUT_DIR"), paste0(s$name, ".ndjson")), overwrite = TRUE)
	res <- list()
	secs <- 0
	for (lvl in c(80, 95)) {
		outf <- tempfile()
		runs <- if (lvl == 95) pa_repeat else 1
		for (run in seq_len(runs)) {
			t0 <- cpu_child()
			# The origins end at different times, so each must forecast from its own end.
			system2(pa, c("--horizon", s$h, "--level", lvl, "--no-align-end", s$pa_args,
				      pa_extra, nd), stdout = outf, stderr = FALSE)
			if (lvl == 95 && (run == 1 || cpu_child() - t0 < secs))
				secs <- cpu_child() - t0
		}
		res[[as.character(lvl)]] <- read_pa(outf)
	}
	for (o in seq_along(starts)) {
		train <- r$y[(starts[o] - s$train):(starts[o] - 1)]
		actual <- r$y[starts[o]:(starts[o] + s$h - 1)]
		key <- sprintf("bench/o%02d", o)
		p80 <- res[["80"]][res[["80"]]$name == key, ]
		p95 <- res[["95"]][res[["95"]]$name == key, ]
		add_row(s, o, "pa-auto", train, actual, p95$mean, p80$lo, p80$hi, p95$lo, p95$hi,
			secs / length(starts))
		if (!is.null(cached)) {
			hit <- cached[cached$series == s$name & cached$origin == o, ]
			for (i in seq_len(nrow(hit)))
				rows[[length(rows) + 1]] <- hit[i, ]
			next
		}
		for (method in r_methods) {
			t0 <- cpu_self()
			f <- tryCatch(fit_r(method, train, s$m, s$m2, s$h), error = function(e) NULL)
			el <- cpu_self() - t0
			if (is.null(f))
				next
			add_row(s, o, paste0("R-", method), train, actual, as.numeric(f$mean),
				f$lower[, 1], f$upper[, 1], f$lower[, 2], f$upper[, 2], el)
		}
		cat(sprintf("%s origin %d done\n", s$name, o), file = stderr())
	}
}

all <- do.call(rbind, rows)
write.table(all, file.path(out_dir, "results.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)

# Per series and method: mean MASE, coverage and seconds per fit over the origins.
agg <- aggregate(cbind(mase, cov80, cov95, secs) ~ series + method, data = all, FUN = mean)
agg <- agg[order(agg$series, agg$method), ]
cat("\n| series | method | MASE | 80% coverage | 95% coverage | CPU seconds per fit |\n")
cat("|---|---|---|---|---|---|\n")
for (i in seq_len(nrow(agg)))
	cat(sprintf("| %s | %s | %.3f | %.1f%% | %.1f%% | %.4f |\n", agg$series[i], agg$method[i],
		    agg$mase[i], 100 * agg$cov80[i], 100 * agg$cov95[i], agg$secs[i]))

# pa against the best of R's ets, auto.arima, stlf and tbats per series.
cat("\n| series | pa MASE | best R model | its MASE | ratio pa/R | R ets CPU s / pa CPU s |\n")
cat("|---|---|---|---|---|---|\n")
ratios <- c()
speed <- c()
for (sn in unique(agg$series)) {
	a <- agg[agg$series == sn, ]
	rr <- a[a$method %in% c("R-ets", "R-arima", "R-stlf", "R-tbats"), ]
	best <- rr[which.min(rr$mase), ]
	pam <- a[a$method == "pa-auto", ]
	ets_s <- a$secs[a$method == "R-ets"]
	ratio <- pam$mase / best$mase
	ratios <- c(ratios, ratio)
	sp <- if (length(ets_s)) ets_s / pam$secs else NA
	speed <- c(speed, sp)
	cat(sprintf("| %s | %.3f | %s | %.3f | %.2f | %.1f |\n", sn, pam$mase, best$method,
		    best$mase, ratio, sp))
}
pa_all <- all[all$method == "pa-auto", ]
cat(sprintf("\nmedian MASE ratio pa/best R: %.2f; pa coverage over all origins: 80%% %.1f%%, 95%% %.1f%%; median speed-up over R ets: %.1fx\n",
	    median(ratios), 100 * mean(pa_all$cov80), 100 * mean(pa_all$cov95), median(speed, na.rm = TRUE)))
