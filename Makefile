# pa - predictive capacity planning filters.
#
#   make            build bin/pa-* and build/libpa.a
#   make check      install missing packages, build, run the test suite, then
#                   run it again under AddressSanitizer and UBSan
#   make demo       install missing packages, build, run the pipeline on a
#                   generated sample (make demo LOG=FILE for your own log)
#   make install    PREFIX=/usr/local DESTDIR=

CC ?= cc
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share/pa

WARN = -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) -Ilib
LIBS = -ljansson -lcsv -lgsl -lgslcblas -lz -lm

# A sanitizer build lives in its own tree so both can coexist.
BUILD ?= build
BIN ?= bin

LIB_SRC = $(sort $(wildcard lib/*.c))
LIB_OBJ = $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
LIB_HDR = $(wildcard lib/*.h)
TOOLS = $(patsubst tools/%.c,$(BIN)/%,$(sort $(wildcard tools/pa-*.c)))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
MANS = $(sort $(wildcard man/*.[1-8]))

.PHONY: all check test demo install uninstall clean deps lint-man asan

all: $(TOOLS) $(UNIT) $(BUILD)/gen-sample

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libpa.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BIN)/%: tools/%.c $(BUILD)/libpa.a $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libpa.a $(LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libpa.a $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libpa.a $(LIBS) $(LDFLAGS)

# Deterministic sample data for the demo and benchmarks; not installed.
$(BUILD)/gen-sample: scripts/gen-sample.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lm $(LDFLAGS)

deps:
	sh scripts/install-deps all

test: all
	BIN=$(CURDIR)/$(BIN) UNITDIR=$(CURDIR)/$(BUILD)/tests sh tests/run

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" all

check: deps
	$(MAKE) all
	$(MAKE) asan
	sh tests/check

demo:
	sh scripts/install-deps build
	$(MAKE) all
	sh scripts/demo $(LOG)

lint-man:
	mandoc -Tlint -Wwarning $(MANS)

install: $(TOOLS)
	mkdir -p $(DESTDIR)$(BINDIR)
	for t in $(TOOLS); do install -m 755 $$t $(DESTDIR)$(BINDIR)/; done
	for m in $(MANS); do s=$${m##*.}; \
		mkdir -p $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	mkdir -p $(DESTDIR)$(DATADIR)
	install -m 755 scripts/cron-example $(DESTDIR)$(DATADIR)/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$${t##*/}; done
	for m in $(MANS); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -f $(DESTDIR)$(DATADIR)/cron-example
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

clean:
	rm -rf build build-asan bin
