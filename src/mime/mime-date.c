/*
 * mime-date: the RFC 5322 §3.3 date-time, with the obsolete forms of §4.3
 * (two- and three-digit years, named zones, comments and extra white space
 * anywhere), plus the asctime order some old mailers write ("Tue Jul  1
 * 10:52:37 2003"). Used for the Date: header (SEARCH SENTBEFORE, SORT DATE).
 *
 * The epoch is computed here, not with timegm(3), so that the result never
 * depends on the process's time zone or locale.
 */
#include "mime/mime-private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"

/* A real date-time is about 40 characters; with comments a little more.
 * Anything past this is ignored. */
#define MIME_MAX_DATE_LEN 256

struct mime_date_zone {
	const char *name;
	int minutes;
};

/* RFC 5322 §4.3 obs-zone. Military zones (one letter) were defined with
 * the wrong sign in RFC 822, so §4.3 says to read them as -0000: 0. */
static const struct mime_date_zone mime_date_zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 }, { "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 }, { "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

static const char *const mime_date_months[12] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

struct mime_date_fields {
	int year, month, day, hour, minute, second, tz;
};

/* Copy s with comments replaced by spaces (RFC 5322 §3.2.2 CFWS may appear
 * between any two tokens). */
static void mime_date_clean(const char *s, char *out)
{
	size_t n = 0;
	int depth = 0;

	for (; *s != '\0' && n < MIME_MAX_DATE_LEN; s++) {
		if (*s == '(')
			depth++;
		if (depth > 0 || *s == '\r' || *s == '\n' || *s == '\t')
			out[n++] = ' ';
		else
			out[n++] = *s;
		if (*s == ')' && depth > 0)
			depth--;
	}
	out[n] = '\0';
}

static const char *mime_date_skip_ws(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* Up to max digits at *pp; -1 when there are none. */
static int mime_date_number(const char **pp, int max, int *digits_r)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (n < max && isdigit((unsigned char)*p)) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0)
		return -1;
	*pp = p;
	if (digits_r != NULL)
		*digits_r = n;
	return v;
}

/* A month name (three letters at least, any case); 1..12 or -1. */
static int mime_date_month(const char **pp)
{
	const char *p = *pp;
	size_t n = 0;

	while (isalpha((unsigned char)p[n]))
		n++;
	if (n < 3)
		return -1;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(p, mime_date_months[i], 3) == 0) {
			*pp = p + n;
			return i + 1;
		}
	}
	return -1;
}

/* RFC 5322 §4.3 obs-year: two digits are 1950-2049, three are +1900. */
static int mime_date_year(const char **pp)
{
	int digits, y = mime_date_number(pp, 4, &digits);

	if (y < 0)
		return -1;
	if (digits == 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (digits == 3)
		return 1900 + y;
	return y;
}

/* hour ":" minute [":" second]. */
static int mime_date_time(const char **pp, struct mime_date_fields *f)
{
	const char *p = mime_date_skip_ws(*pp);

	if ((f->hour = mime_date_number(&p, 2, NULL)) < 0)
		return -1;
	p = mime_date_skip_ws(p);
	if (*p++ != ':')
		return -1;
	p = mime_date_skip_ws(p);
	if ((f->minute = mime_date_number(&p, 2, NULL)) < 0)
		return -1;
	f->second = 0;
	if (*mime_date_skip_ws(p) == ':') {
		p = mime_date_skip_ws(mime_date_skip_ws(p) + 1);
		if ((f->second = mime_date_number(&p, 2, NULL)) < 0)
			return -1;
	}
	*pp = p;
	return 0;
}

/* zone: +hhmm / -hhmm or an obsolete name; absent or unknown is +0000. */
static void mime_date_zone(const char **pp, struct mime_date_fields *f)
{
	const char *p = mime_date_skip_ws(*pp);
	int digits;

	f->tz = 0;
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		p++;
		int v = mime_date_number(&p, 4, &digits);
		if (v >= 0 && digits == 4 && v % 100 < 60)
			f->tz = sign * ((v / 100) * 60 + v % 100);
		else if (v >= 0 && digits <= 2)
			f->tz = sign * v * 60;
	} else {
		size_t n = 0;
		while (isalpha((unsigned char)p[n]))
			n++;
		for (size_t i = 0; i < sizeof(mime_date_zones) / sizeof(mime_date_zones[0]); i++) {
			if (str_eq_nocase_n(p, n, mime_date_zones[i].name))
				f->tz = mime_date_zones[i].minutes;
		}
		p += n;
	}
	*pp = p;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t mime_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* day month year (RFC order) or month day time year (asctime order). */
static int mime_date_fields_parse(const char *p, struct mime_date_fields *f)
{
	p = mime_date_skip_ws(p);
	if (isalpha((unsigned char)*p) && mime_date_month(&(const char *){ p }) < 0) {
		while (isalpha((unsigned char)*p)) /* day-of-week, ignored */
			p++;
		p = mime_date_skip_ws(p);
		if (*p == ',')
			p = mime_date_skip_ws(p + 1);
	}
	if (isalpha((unsigned char)*p)) {
		if ((f->month = mime_date_month(&p)) < 0)
			return -1;
		p = mime_date_skip_ws(p);
		if ((f->day = mime_date_number(&p, 2, NULL)) < 0 || mime_date_time(&p, f) < 0)
			return -1;
		p = mime_date_skip_ws(p);
		if ((f->year = mime_date_year(&p)) < 0)
			return -1;
	} else {
		if ((f->day = mime_date_number(&p, 2, NULL)) < 0)
			return -1;
		p = mime_date_skip_ws(*p == '-' ? p + 1 : mime_date_skip_ws(p));
		if ((f->month = mime_date_month(&p)) < 0)
			return -1;
		p = mime_date_skip_ws(*p == '-' ? p + 1 : mime_date_skip_ws(p));
		if ((f->year = mime_date_year(&p)) < 0 || mime_date_time(&p, f) < 0)
			return -1;
	}
	mime_date_zone(&p, f);
	return 0;
}

int mime_parse_date(const char *s, int64_t *time_r, int *tz_minutes_r)
{
	char clean[MIME_MAX_DATE_LEN + 1];
	struct mime_date_fields f;

	if (s == NULL)
		return -1;
	mime_date_clean(s, clean);
	if (mime_date_fields_parse(clean, &f) < 0)
		return -1;
	if (f.day < 1 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 60 ||
	    f.year < 1)
		return -1;
	*time_r = mime_days_from_civil(f.year, f.month, f.day) * 86400 + f.hour * 3600 +
		  f.minute * 60 + f.second - (int64_t)f.tz * 60;
	*tz_minutes_r = f.tz;
	return 0;
}
