# buzon — build, run, test.
#
#   make            bin/buzon (optimised, with debug info) and bin/buzon-bench
#   make run        a dev server on loopback (etc/dev.conf, data in dev/)
#   make check      every test, under AddressSanitizer + UBSan
#   make fuzz       the libFuzzer targets (clang), built into build/fuzz/
#
# Sources are found by wildcard: a new .c file under src/ is built without
# touching this file. src/main.c is the program; everything else is linked
# into the unit tests too.

CC      ?= cc
CLANG   ?= clang
PKGS    := openssl sqlite3 libcrypt zlib libidn libpq
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Werror=unused-result
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE -pthread $(WARN) -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lsqlite3 -lcrypt -lz -lidn -lpq) -pthread

SRC_ALL  := $(sort $(shell find src -name '*.c'))
SRC_LIB  := $(filter-out src/main.c,$(SRC_ALL))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

# ---- release build ---------------------------------------------------------
OBJ_LIB := $(SRC_LIB:%.c=build/rel/%.o)

all: bin/buzon bin/buzon-bench

bin/buzon: build/rel/src/main.o $(OBJ_LIB)
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

# ---- the benchmark client (bench/tool/, issue 7) -------------------------------
# A program of its own, outside src/ so that none of it is linked into the
# server or the tests; it borrows core/buf and core/mem, same flags.
BENCH_SRC := $(sort $(wildcard bench/tool/*.c))
BENCH_OBJ := $(BENCH_SRC:%.c=build/rel/%.o) build/rel/src/core/buf.o build/rel/src/core/mem.o

bin/buzon-bench: $(BENCH_OBJ)
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# ---- sanitizer build (make check) -------------------------------------------
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_CFLAGS := $(filter-out -O2,$(ALL_CFLAGS)) $(SAN_FLAGS)
OBJ_SAN := $(SRC_LIB:%.c=build/san/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/tests/%)

build/san/bin/buzon: build/san/src/main.o $(OBJ_SAN)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LIBS)

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -MMD -MP -c -o $@ $<

build/san/tests/%: tests/unit/%.c tests/unit/unit.h $(OBJ_SAN)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests/unit -o $@ $< $(OBJ_SAN) $(LIBS)

# ---- fuzz targets (libFuzzer, clang) ------------------------------------------
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -pthread -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
               -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -fsanitize=fuzzer,address,undefined
OBJ_FUZZ := $(SRC_LIB:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(filter-out -fsanitize=fuzzer%,$(FUZZ_CFLAGS)) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(OBJ_FUZZ)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(OBJ_FUZZ) $(LIBS)

fuzz: $(FUZZ_BIN)

# The fuzz objects appear only in a pattern rule, so make would treat them as
# intermediate and delete them after each link, rebuilding all of them on
# every `make check`.
.SECONDARY: $(OBJ_FUZZ)

# ---- entry points --------------------------------------------------------------
deps:
	@scripts/deps.sh

run: deps bin/buzon
	@scripts/dev-run.sh

check: deps
	@$(MAKE) --no-print-directory build/san/bin/buzon bin/buzon-bench $(UNIT_BIN) $(FUZZ_BIN)
	@scripts/check.sh

clean:
	rm -rf build bin

.PHONY: all deps run check fuzz clean

-include $(shell find build -name '*.d' 2>/dev/null)
