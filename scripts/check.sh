#!/bin/bash
# check.sh: `make check` — run every test and end with "N passed, N failed".
#
# The Makefile first builds, under AddressSanitizer + UBSan, build/san/bin/buzon
# and one binary per tests/unit/test_*.c, and the libFuzzer targets
# build/fuzz/fuzz_*. Then, in three sections:
#
#   unit         each build/san/tests/test_* ; every "ok NAME" line is a pass,
#                every "FAIL NAME..." line a failure. A binary that is
#                missing, times out, crashes or exits non-zero without a FAIL
#                line counts as one failure under its own name.
#   integration  each tests/integration/test_*.py, run as a script with the
#                harness's runner (tests/integration/harness.py), which
#                prints the same "ok"/"FAIL" lines; counted the same way.
#                BUZON points at the sanitizer build; the harness fails a
#                test when the server's log shows a sanitizer report.
#   postgres     the integration files again with BUZON_STORE=postgres: one
#                real PostgreSQL (tests/integration/pgserver.py: Debian's
#                initdb + postgres in a temporary folder on a loopback port)
#                shared by the run, a fresh database per test server. Files
#                named in tests/integration/postgres-skip are not run (each
#                line says why: known failing while the back end is being
#                built, or nothing of the store in it); their names are
#                printed. When PostgreSQL cannot be started the section is
#                skipped with the reason (counted as nothing).
#   fuzz         each fuzz target for FUZZ_SECONDS (default 20) on a temporary
#                copy of tests/fuzz/corpus/NAME/ (so new inputs never dirty
#                the repo); one pass or one failure per target. Crash inputs
#                are kept in build/fuzz/artifacts/.
#
#   scripts/check.sh [unit|integration|postgres|fuzz ...]   (default: all four)
#
# Exit status 0 only when nothing failed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# Per-binary and per-file ceilings, so one hang cannot eat the run.
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-600}
# Lines of a failing test's output to show.
SHOW_LINES=80

export BUZON=${BUZON:-$ROOT/build/san/bin/buzon}
# A sanitizer report stops the process and says so on stderr, which the
# harness looks for; leaks are errors too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PYTHONDONTWRITEBYTECODE=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/buzon-check.XXXXXX")
# The postgres section's PostgreSQL folder while it runs (stopped at exit).
PG_FOLDER=
cleanup() {
	if [ -n "$PG_FOLDER" ]; then
		python3 tests/integration/pgserver.py stop "$PG_FOLDER"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

total_passed=0
total_failed=0
section_passed=0
section_failed=0
failures=()

# Show the interesting end of a log (passing tests left out), indented.
show_log() {
	grep -v '^ok ' "$1" | tail -n "$SHOW_LINES" | sed 's/^/    /'
}

# Run a command with a time limit, output to a log; the exit status is
# returned (a subshell keeps bash's "Segmentation fault" notices out of the
# summary: count_result reports the signal instead).
run_logged() {
	local limit=$1 log=$2
	shift 2
	(timeout -k 10 "$limit" "$@" > "$log" 2>&1; exit $?) 2>/dev/null
}

# Count one test program's output ($2, a log file) given its exit status ($3);
# $4, when given, is how many seconds it took (printed).
count_result() {
	local name=$1 log=$2 status=$3 ok fail
	ok=$(grep -c '^ok ' "$log")
	fail=$(grep -c '^FAIL ' "$log")
	if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
			failures+=("$name: timed out")
		elif [ "$status" -gt 128 ]; then
			failures+=("$name: killed by signal $((status - 128)) ($(kill -l $((status - 128))))")
		else
			failures+=("$name: exit status $status without a FAIL line")
		fi
	fi
	while IFS= read -r line; do
		failures+=("$name: ${line#FAIL }")
	done < <(grep '^FAIL ' "$log")
	section_passed=$((section_passed + ok))
	section_failed=$((section_failed + fail))
	if [ -n "${4:-}" ]; then
		printf '  %-40s %4d ok %4d failed %5d s\n' "$name" "$ok" "$fail" "$4"
	else
		printf '  %-40s %4d ok %4d failed\n' "$name" "$ok" "$fail"
	fi
	if [ "$fail" -ne 0 ]; then
		show_log "$log"
	fi
}

section_start() {
	section_passed=0
	section_failed=0
	echo "== $1"
}

section_end() {
	echo "== $1: $section_passed passed, $section_failed failed"
	echo
	total_passed=$((total_passed + section_passed))
	total_failed=$((total_failed + section_failed))
}

# A test that could not even run (not built).
missing() {
	section_failed=$((section_failed + 1))
	failures+=("$1: $2")
	printf '  %-40s %s\n' "$1" "$2"
}

run_unit() {
	local src name bin log status
	section_start unit
	for src in tests/unit/test_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		bin=build/san/tests/$name
		if [ ! -x "$bin" ]; then
			missing "$name" "not built ($bin)"
			continue
		fi
		log=$TMP/$name.log
		run_logged "$UNIT_TIMEOUT" "$log" "$bin"
		status=$?
		count_result "$name" "$log" "$status"
	done
	section_end unit
}

run_integration() {
	local file name log status
	section_start integration
	if [ ! -x "$BUZON" ]; then
		missing buzon "not built ($BUZON)"
		section_end integration
		return
	fi
	for file in tests/integration/test_*.py; do
		[ -e "$file" ] || continue
		name=$(basename "$file" .py)
		log=$TMP/$name.log
		started=$SECONDS
		run_logged "$INTEGRATION_TIMEOUT" "$log" python3 "$file"
		status=$?
		count_result "$name" "$log" "$status" $((SECONDS - started))
	done
	section_end integration
}

# The integration files again, on the PostgreSQL store (see the top).
run_postgres() {
	local file name log status out url skipped=() started
	section_start "integration, store = postgres"
	if [ ! -x "$BUZON" ]; then
		missing buzon "not built ($BUZON)"
		section_end "integration, store = postgres"
		return
	fi
	if ! out=$(python3 tests/integration/pgserver.py start 2> "$TMP/pgserver.err"); then
		echo "  skipped: PostgreSQL could not be started: $(tail -n 5 "$TMP/pgserver.err")"
		section_end "integration, store = postgres"
		return
	fi
	url=$(printf '%s\n' "$out" | sed -n 1p)
	PG_FOLDER=$(printf '%s\n' "$out" | sed -n 2p)
	echo "  PostgreSQL $url ($PG_FOLDER)"
	for file in tests/integration/test_*.py; do
		[ -e "$file" ] || continue
		name=$(basename "$file" .py)
		if grep -q "^$name\b" tests/integration/postgres-skip; then
			skipped+=("$name")
			continue
		fi
		log=$TMP/pg-$name.log
		started=$SECONDS
		BUZON_STORE=postgres BUZON_PG_URL=$url \
			run_logged "$INTEGRATION_TIMEOUT" "$log" python3 "$file"
		status=$?
		count_result "$name" "$log" "$status" $((SECONDS - started))
	done
	python3 tests/integration/pgserver.py stop "$PG_FOLDER"
	PG_FOLDER=
	if [ ${#skipped[@]} -gt 0 ]; then
		echo "  not run on postgres (tests/integration/postgres-skip says why):"
		printf '%s\n' "${skipped[@]}" | fmt -w 96 | sed 's/^/    /'
	fi
	section_end "integration, store = postgres"
}

# One fuzz target on a temporary copy of its corpus.
run_fuzz_target() {
	local name=$1 bin=$2 work corpus status dict=()
	work=$TMP/fuzz-$name
	corpus=tests/fuzz/corpus/$name
	mkdir -p "$work/corpus"
	if [ -d "$corpus" ]; then
		cp -R "$corpus/." "$work/corpus/"
	fi
	if [ -f "tests/fuzz/$name.dict" ]; then
		dict=("-dict=tests/fuzz/$name.dict")
	fi
	run_logged $((FUZZ_SECONDS + 120)) "$work/log" "$bin" "${dict[@]}" \
		-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus"
	status=$?
	if [ "$status" -eq 0 ]; then
		section_passed=$((section_passed + 1))
		printf '  %-40s ok (%s s, %s inputs)\n' "fuzz_$name" "$FUZZ_SECONDS" \
			"$(find "$work/corpus" -type f | wc -l)"
		return
	fi
	section_failed=$((section_failed + 1))
	mkdir -p build/fuzz/artifacts
	find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
		-name 'timeout-*' -o -name 'oom-*' \) -exec cp {} build/fuzz/artifacts/ \;
	failures+=("fuzz_$name: exit status $status (inputs in build/fuzz/artifacts/)")
	printf '  %-40s FAILED (exit status %d)\n' "fuzz_$name" "$status"
	show_log "$work/log"
}

run_fuzz() {
	local src name bin
	section_start "fuzz (${FUZZ_SECONDS} s per target)"
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		name=${name#fuzz_}
		bin=build/fuzz/fuzz_$name
		if [ ! -x "$bin" ]; then
			missing "fuzz_$name" "not built ($bin)"
			continue
		fi
		run_fuzz_target "$name" "$bin"
	done
	section_end fuzz
}

sections=("$@")
if [ ${#sections[@]} -eq 0 ]; then
	sections=(unit integration postgres fuzz)
fi
for section in "${sections[@]}"; do
	case $section in
	unit) run_unit ;;
	integration) run_integration ;;
	postgres) run_postgres ;;
	fuzz) run_fuzz ;;
	*) echo "check.sh: unknown section '$section' (unit, integration, postgres, fuzz)" >&2; exit 2 ;;
	esac
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	for f in "${failures[@]}"; do
		echo "  $f"
	done
	echo
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
