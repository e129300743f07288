/*
 * stats: latency samples of one kind of operation, and the result lines.
 *
 * Every latency is kept (4 bytes each: a million operations is 4 MB), so
 * percentiles are exact rather than read off a histogram. The output is one
 * line per figure, "result scenario=S target=L figure=F value=V unit=U",
 * which bench/compare parses; anything else the tool prints goes to stderr.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void bench_stat_add(struct bench_stat *stat, uint64_t start_ns, uint64_t end_ns)
{
	uint64_t us = end_ns > start_ns ? (end_ns - start_ns) / 1000u : 0;

	if (stat->count == stat->cap) {
		stat->cap = stat->cap ? stat->cap * 2 : 1024;
		stat->us = mem_realloc(stat->us, stat->cap * sizeof(*stat->us));
	}
	stat->us[stat->count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int stat_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile: the smallest sample with at least p % of the
 * samples at or below it. */
double bench_stat_percentile(struct bench_stat *stat, double p)
{
	size_t rank;

	if (stat->count == 0)
		return 0;
	qsort(stat->us, stat->count, sizeof(*stat->us), stat_compare);
	rank = (size_t)((p / 100.0) * (double)stat->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > stat->count)
		rank = stat->count;
	return stat->us[rank - 1];
}

void bench_stat_free(struct bench_stat *stat)
{
	free(stat->us);
	stat->us = NULL;
	stat->count = stat->cap = 0;
}

void bench_report(const struct bench_options *options, const char *figure, double value,
		  const char *unit)
{
	printf("result scenario=%s target=%s figure=%s value=%.3f unit=%s\n", options->scenario,
	       options->label, figure, value, unit);
	fflush(stdout);
}

void bench_report_stat(const struct bench_options *options, const char *prefix,
		       struct bench_stat *stat, double seconds)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.ops", prefix);
	bench_report(options, name, (double)stat->count, "count");
	snprintf(name, sizeof(name), "%s.errors", prefix);
	bench_report(options, name, (double)stat->errors, "count");
	if (seconds > 0) {
		snprintf(name, sizeof(name), "%s.ops_per_s", prefix);
		bench_report(options, name, (double)stat->count / seconds, "ops/s");
	}
	if (stat->count == 0)
		return;
	snprintf(name, sizeof(name), "%s.p50_ms", prefix);
	bench_report(options, name, bench_stat_percentile(stat, 50) / 1000.0, "ms");
	snprintf(name, sizeof(name), "%s.p99_ms", prefix);
	bench_report(options, name, bench_stat_percentile(stat, 99) / 1000.0, "ms");
}
