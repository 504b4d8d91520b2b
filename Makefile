# onesheet — see README.md.  `make` builds, `make run` runs the pipeline on
# the embedded default, `make check` runs every test.
.DEFAULT_GOAL := all
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
PKG_CONFIG ?= pkg-config

# Debian packages the project builds, tests and runs with (make deps).
DEB_PACKAGES := build-essential pkg-config libcurl4-openssl-dev libssl-dev \
    libjansson-dev libsqlite3-dev sqlite3 libcairo2-dev libpango1.0-dev libpng-dev zlib1g-dev \
    libjpeg62-turbo-dev libwebp-dev libdeflate-dev \
    libmicrohttpd-dev libsystemd-dev libcmocka-dev fonts-dejavu-core \
    python3 curl procps bc time chromium fonts-noto-cjk clang libclang-rt-14-dev \
    python3-boto3 groff-base man-db

PKGS := libcurl openssl jansson sqlite3 cairo pangocairo libpng zlib libjpeg libwebp libdeflate
HAVE_SYSTEMD := $(shell $(PKG_CONFIG) --exists libsystemd && echo 1)
HAVE_MHD     := $(shell $(PKG_CONFIG) --exists libmicrohttpd && echo 1)
ifeq ($(HAVE_SYSTEMD),1)
PKGS += libsystemd
SYSTEMD_DEF := -DHAVE_SYSTEMD=1
endif
ifeq ($(HAVE_MHD),1)
PKGS += libmicrohttpd
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS))
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN   := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
          -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
ifneq ($(CI),)
WARN   += -Werror
endif
OPT    ?= -O2 -g
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Icommon $(PKG_CFLAGS) \
          -DONESHEET_VERSION=\"$(VERSION)\" $(SYSTEMD_DEF) $(EXTRA_CFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
BUILD  := build/san
BIN    := build/san/bin
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD  := build/rel
BIN    := bin
endif

COMMON_SRC  := $(sort $(wildcard common/*/*.c))
SCHEMA_SQL  := $(sort $(wildcard schema/sqlite/*.sql))
UI_FILES    := $(sort $(wildcard api/ui/*.html api/ui/*.css api/ui/*.js api/ui/*.svg))
COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema_sql.o $(BUILD)/gen/ui_assets.o
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC    := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
LIVE_SRC    := $(sort $(wildcard tests/live/live_*.c))
LIVE_BIN    := $(LIVE_SRC:tests/live/%.c=$(BUILD)/live/%)

PROGS := $(BIN)/onesheet $(BIN)/onesheet-worker
ifneq ($(wildcard api/*.c),)
ifeq ($(HAVE_MHD),1)
PROGS += $(BIN)/onesheet-api
endif
endif

ALL_SRC := $(COMMON_SRC) $(SUPPORT_SRC) $(UNIT_SRC) $(TOOL_SRC) $(LIVE_SRC) \
           $(wildcard submit/*.c worker/*.c api/*.c)
-include $(ALL_SRC:%.c=$(BUILD)/%.d)

.PHONY: all deps run check unit tests install clean bench lambda
include api/lambda.mk
include fuzz/fuzz.mk
all: $(PROGS)

# Keep every object, tests' included: make would delete the objects it
# made on the way to a test binary as intermediates, and compile them all
# again after any change (and layers.sh could not tell what a header
# change rebuilds).
.SECONDARY:

# Header dependencies come from the compiler (-MMD -MP writes each object's
# .d file, included above), so touching a header rebuilds only the objects
# that include it, directly or not.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -Itests/support -c $< -o $@

# --version names the commit: one small generated object linked into the
# three programs only (common/setup/version.c declares it), so a new commit
# relinks them and nothing else.
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
$(BUILD)/gen/commit.c: $(BUILD)/gen/commit.stamp
	printf 'const char onesheet_build_commit[] = "%s";\n' '$(GIT_COMMIT)' > $@
$(BUILD)/gen/commit.o: $(BUILD)/gen/commit.c
	$(CC) $(CFLAGS) -c $< -o $@

# campaign install's units run $(PREFIX)/bin/onesheet, so a new PREFIX
# (make install PREFIX=/opt/onesheet) rebuilds that one object.
$(BUILD)/submit/cmd_campaign_install.o: CFLAGS += -DONESHEET_PREFIX=\"$(PREFIX)\"
$(BUILD)/submit/cmd_campaign_install.o: $(BUILD)/gen/prefix.stamp
# The two stamps are rewritten, when their value changed, as the Makefile
# is read (not by a rule: a forced rule would rebuild their objects on
# every make -n, which tests/tools/layers.py reads).
stamp = $(shell mkdir -p $(BUILD)/gen && { echo '$(2)' | cmp -s - $(BUILD)/gen/$(1) 2>/dev/null || \
          echo '$(2)' > $(BUILD)/gen/$(1); })
$(call stamp,commit.stamp,$(GIT_COMMIT))
$(call stamp,prefix.stamp,$(PREFIX))
$(BUILD)/gen/commit.stamp $(BUILD)/gen/prefix.stamp: ;

$(BUILD)/gen/schema_sql.c: $(SCHEMA_SQL) tools/embed-sql.sh
	@mkdir -p $(dir $@)
	./tools/embed-sql.sh $@ $(SCHEMA_SQL)

$(BUILD)/gen/schema_sql.o: $(BUILD)/gen/schema_sql.c common/base/schema_sql.h
	$(CC) $(CFLAGS) -c $< -o $@

# The dashboard's files (issue 19), embedded at build time.
$(BUILD)/gen/ui_assets.c: $(UI_FILES) tools/embed-ui.sh
	@mkdir -p $(dir $@)
	./tools/embed-ui.sh $@ $(UI_FILES)

$(BUILD)/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c common/api/api.h
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libtestsupport.a: $(SUPPORT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^ $(if $(SUPPORT_OBJ),,)

define prog
$(BIN)/$(1): $$(patsubst %.c,$(BUILD)/%.o,$$(sort $$(wildcard $(2)/*.c))) $(BUILD)/gen/commit.o \
    $(BUILD)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(eval $(call prog,onesheet,submit))
$(eval $(call prog,onesheet-worker,worker))
$(eval $(call prog,onesheet-api,api))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libtestsupport.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/libtestsupport.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Tests against the emulators: cmocka programs the integration scripts run
# with the emulators' endpoints in the environment.
$(BUILD)/live/%: $(BUILD)/tests/live/%.o $(BUILD)/libtestsupport.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

# The worker with its crash points compiled in (worker/fault.h, issue 24),
# for tests only: its objects are built apart, so bin/onesheet-worker has
# none of them.
FAULT_OBJ := $(patsubst %.c,$(BUILD)/faults/%.o,$(sort $(wildcard worker/*.c)))
-include $(FAULT_OBJ:%.o=%.d)
$(BUILD)/faults/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DONESHEET_FAULTS -MMD -MP -c $< -o $@
$(BUILD)/tools/onesheet-worker-faults: $(FAULT_OBJ) $(BUILD)/gen/commit.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: $(PROGS) $(UNIT_BIN) $(TOOL_BIN) $(LIVE_BIN) $(BUILD)/tools/onesheet-worker-faults docs

# Mutation testing (issue 24): each mutant of tests/mutants/mutants.txt is
# applied to a scratch copy of the tree and its build, its killers rebuilt
# and run; fails if one survives.  `make mutants ONLY=id1,id2` runs some.
.PHONY: mutants mutants-integration-deps
mutants: tests
	@python3 tools/mutants.py --build $(BUILD) $(if $(CI),--make-var CI=1) \
	    $(if $(filter 1,$(SANITIZE)),--make-var SANITIZE=1) $(if $(ONLY),--only $(ONLY))
# What an integration killer needs rebuilt after a mutant (not the unit tests).
mutants-integration-deps: $(PROGS) $(TOOL_BIN) $(LIVE_BIN) $(BUILD)/tools/onesheet-worker-faults

# Manual pages and shell completions, generated from the binaries' own
# command, option and config-key tables (tools/gen-docs.py); an option a
# binary parses that its --help does not describe fails the build.
DOCS := $(BUILD)/docs/man/onesheet.1 $(BUILD)/docs/man/onesheet.conf.5 \
        $(BUILD)/docs/man/onesheet-worker.8 $(BUILD)/docs/man/onesheet-api.8 \
        $(BUILD)/docs/completion/onesheet.bash $(BUILD)/docs/completion/_onesheet
.PHONY: docs
docs: $(BUILD)/docs/.stamp
$(BUILD)/docs/.stamp: $(PROGS) tools/gen-docs.py README.md
	@mkdir -p $(dir $@)
	python3 tools/gen-docs.py $(BIN) $(BUILD)/docs README.md
	@touch $@

# Installs the exact Debian packages and the pinned npm emulators.
deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $(DEB_PACKAGES)
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi

# `make run` and `make check` first install what is missing (the look costs
# nothing on a set-up machine: tools/ensure-deps.sh), then build in a new
# make, whose pkg-config flags see the packages just installed.
.PHONY: run-only check-only
# The whole pipeline on the embedded default: 20 prompts → 20 posters.
run:
	@./tools/ensure-deps.sh $(DEB_PACKAGES)
	@$(MAKE) --no-print-directory run-only
run-only: $(PROGS)
	@BIN=$(BIN) ./tests/run-demo.sh

check:
	@./tools/ensure-deps.sh $(DEB_PACKAGES)
	@$(MAKE) --no-print-directory check-only
check-only: tests
	@BIN=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) SANITIZE=$(SANITIZE) ./tests/run.sh $(T)

unit: $(UNIT_BIN)
	@BIN=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) ./tests/run.sh unit

# Long chaos runs (issue 9), both modes: `make chaos ROUNDS=10`.
.PHONY: chaos
ROUNDS ?= 5
chaos: tests
	@BIN=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) ONESHEET_TEST_TOOLS=$(abspath $(BUILD))/tools \
	    ROUNDS=$(ROUNDS) ./tests/chaos/chaos.sh --mode both

bench: $(PROGS) $(TOOL_BIN)
	@BIN=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) ./bench/run.sh

install: $(PROGS) docs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/onesheet/schema/sqlite \
	    $(DESTDIR)$(PREFIX)/share/doc/onesheet/examples
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 schema/sqlite/*.sql $(DESTDIR)$(PREFIX)/share/onesheet/schema/sqlite/
	for f in schema/*; do [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(PREFIX)/share/onesheet/schema/ || true; done
	install -m 0644 examples/* $(DESTDIR)$(PREFIX)/share/doc/onesheet/examples/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/onesheet/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d \
	    $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	install -m 0644 systemd/*.service $(DESTDIR)$(PREFIX)/lib/systemd/system/
	sed -i 's|/usr/local/|$(PREFIX)/|g' $(DESTDIR)$(PREFIX)/lib/systemd/system/onesheet*.service
	install -m 0644 systemd/onesheet.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/onesheet.conf
	install -m 0644 systemd/onesheet.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/onesheet.conf
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0644 $(BUILD)/docs/man/onesheet.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(BUILD)/docs/man/onesheet.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(wildcard $(BUILD)/docs/man/*.8) $(DESTDIR)$(PREFIX)/share/man/man8/
	for p in onesheet onesheet-worker onesheet-api; do \
	    install -m 0644 $(BUILD)/docs/completion/onesheet.bash \
	        $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; done
	install -m 0644 $(BUILD)/docs/completion/_onesheet $(DESTDIR)$(PREFIX)/share/zsh/site-functions/

clean:
	rm -rf build bin
