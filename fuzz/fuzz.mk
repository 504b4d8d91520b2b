# libFuzzer targets (issue 9), included from the Makefile.
#
#   make fuzz                  build every fuzz/fuzz_*.c and run each for
#                              FUZZ_SECONDS (default 20) from its seed corpus
#   make fuzz-build            build only (into build/fuzz/)
#   make fuzz FUZZ_TARGETS=fuzz_job FUZZ_SECONDS=300
#
# Needs Debian's clang and libclang-rt-14-dev (the fuzzer runtime).  The
# project's common/*/*.c is compiled again with the fuzz flags into
# build/fuzz/obj so that coverage and sanitizers reach the parsers.  A run
# writes new inputs to build/fuzz/corpus/NAME (the committed seeds in
# fuzz/corpus/NAME stay read-only) and crash files to build/fuzz/artifacts;
# any crash, leak or sanitizer report makes `make fuzz` fail.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_DIR     := build/fuzz
FUZZ_SRC     := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_ALL     := $(FUZZ_SRC:fuzz/%.c=%)
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_DIR)/%)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(FUZZ_SAN) -Icommon -Itests/support \
                $(PKG_CFLAGS) -DONESHEET_VERSION=\"$(VERSION)\" $(SYSTEMD_DEF)
FUZZ_OBJ     := $(COMMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/gen/schema_sql.o \
                $(FUZZ_DIR)/obj/gen/ui_assets.o

.PHONY: fuzz fuzz-build

# Header dependencies from the compiler's .d files, as in the Makefile.
-include $(FUZZ_OBJ:%.o=%.d) $(FUZZ_BINS:%=%.d)
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/gen/schema_sql.c: $(SCHEMA_SQL) tools/embed-sql.sh
	@mkdir -p $(dir $@)
	./tools/embed-sql.sh $@ $(SCHEMA_SQL)

$(FUZZ_DIR)/obj/gen/schema_sql.o: $(FUZZ_DIR)/gen/schema_sql.c common/base/schema_sql.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/gen/ui_assets.c: $(UI_FILES) tools/embed-ui.sh
	@mkdir -p $(dir $@)
	./tools/embed-ui.sh $@ $(UI_FILES)

$(FUZZ_DIR)/obj/gen/ui_assets.o: $(FUZZ_DIR)/gen/ui_assets.c common/api/api.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/libcommon.a: $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DIR)/libcommon.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -MF $@.d -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libcommon.a \
	    $(PKG_LIBS) -lpthread -lm

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/artifacts; fail=0; \
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	        $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	            -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	            $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t \
	            > $(FUZZ_DIR)/$$t.log 2>&1; then \
	        echo "fuzz: $$t FAILED (see $(FUZZ_DIR)/$$t.log)"; \
	        grep -E '^(==|SUMMARY|artifact_prefix|Test unit written)' $(FUZZ_DIR)/$$t.log | head -20; \
	        fail=1; \
	    else \
	        grep -E '^stat::number_of_executed_units' $(FUZZ_DIR)/$$t.log | sed "s/^/  $$t /"; \
	    fi; \
	done; exit $$fail
