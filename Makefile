# linkjoin — top-level build.
#
#   make              build build/linkjoin and build/entra-sim
#   make deps         install missing Debian packages (apt-get as root) and
#                     fetch Debian's curl, libxml2 and tpm2-tss sources
#                     (tools/deps-curl.sh, tools/deps-libxml2.sh,
#                     tools/deps-tss.sh)
#   make test         deps + build + every test; last line "N passed, N failed"
#   make demo         deps + build + a simulated device joining entra-sim
#   make demo-oobe    the same with the OOBE web screen in headless chromium
#   make oobe-shots   a PNG of every OOBE screen in build/oobe-shots/
#   make SANITIZE=address,undefined test   the same under ASan/UBSan (build-san/)
#   make valgrind     integration tests with the agent under valgrind (-O0)
#   make fuzz         libFuzzer targets (clang) in build-fuzz/
#   make check-layers every #include against the layer order (tools/check-layers.sh)
#   make check-sources file size, opening comment, no outside notes (tools/check-sources.sh)
#   make bench        benchmarks (see README)
#   make sim-device   boot a simulated Link device (QEMU + swtpm, hw-sim/qemu)
#   make release      build-rel/linkjoin without test hooks (TEST_HOOKS=0)
#   make install      that binary, config, man page, systemd units, sysusers
#                     entry, the setup screen (build-rel/linkjoin-oobe, the
#                     platform/oobe/www/ files, the kiosk launcher and unit)
#                     (PREFIX=/usr/local, DESTDIR=; see "Install" below)
#   make uninstall    removes exactly what install put there
#   V=1               show full commands
#
# Sources are found by directory, so adding a module means adding a .c file:
#   platform/*.c platform/common/*.c tpm/*.c agent/*/*.c -> the agent library;
#                                    agent/main.c is main()
#   platform/common/*.c              -> also linked by entra-sim and hw-sim/tools
#   hw-sim/entra-sim/*.c             -> build/entra-sim (main.c is main())
#   hw-sim/tools/NAME.c              -> build/NAME (small test helpers)
#   tests/unit/test_NAME.c           -> build/tests/test_NAME (links the agent lib)
#   tests/unit/simtest_NAME.c        -> build/tests/simtest_NAME (links the sim lib)
#   tests/fuzz/fuzz_NAME.c           -> build-fuzz/fuzz_NAME (make fuzz; libFuzzer)
#                                       and $(BUILD)/tests/replay/fuzz_NAME (make test)
#   tests/fuzz/simfuzz_NAME.c        -> the same, linking the sim objects

SHELL := /bin/bash
CC ?= gcc
ifeq ($(CC),cc)
CC := gcc
endif

ifneq ($(SANITIZE),)
BUILD ?= build-san
else ifneq ($(VALGRIND),)
BUILD ?= build-vg
else
BUILD ?= build
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Debian packages: build, run and test time.  The agent's tpm2-tss is a
# static build (tools/deps-tss.sh); Debian's libtss2-dev stays for the
# OpenSSL baselines that `make bench` builds from older commits
# (tests/bench/tls_stack.sh, flow.sh), libtss2-tcti-swtpm0 for tpm2-tools
# against swtpm in the tests, libtss2-tcti-device0 for tpm2-tools in the
# QEMU device (hw-sim/qemu).
DEB_PKGS := gcc make pkg-config dpkg-dev libcurl4-openssl-dev libcjson-dev libwolfssl-dev \
	libtss2-dev libtss2-tcti-swtpm0 libtss2-tcti-device0 libmicrohttpd-dev \
	libcmocka-dev libinih-dev libxml2-dev libgnutls28-dev swtpm swtpm-tools tpm2-tools openssl \
	curl jq xxd python3 python3-cryptography libxml2-utils clang-format iproute2 procps clang libclang-rt-14-dev valgrind \
	qemu-system-x86 busybox-static cpio kmod e2fsprogs gdb

# make bench: peak RSS with /usr/bin/time -v; tls_stack builds the agent as
# it was on OpenSSL (tests/bench/tls_stack.sh) for the before/after.
DEB_PKGS += time libssl-dev

# build/linkjoin-oobe draws the device-code QR with libqrencode;
# tests/integration/test_oobe_bridge.sh reads it back (rsvg-convert to PNG,
# zbarimg decodes it).
DEB_PKGS += libqrencode-dev librsvg2-bin zbar-tools

# tests/integration/test_proxy.sh: a real HTTP proxy (CONNECT, Basic auth) on loopback.
DEB_PKGS += tinyproxy

# The OOBE web screen's browser tests (tests/browser, run by
# tests/integration/test_oobe_browser.sh): Debian's chromium, driven by
# playwright-core from npm (no browser download), and a Japanese font so ja
# renders: fonts-ipafont-gothic (3.5 MB download) rather than fonts-noto-cjk
# (57 MB); fonts-droid-fallback is smaller still but draws kanji in their
# Chinese forms.  Node.js and npm are the machine's own (not Debian's).
DEB_PKGS += chromium fonts-ipafont-gothic
BROWSER_DIR := tests/browser

# tests/integration/ui_schema_check.py: the UI protocol's JSON Schema (draft 2020-12).
DEB_PKGS += python3-jsonschema

# The agent on one TLS stack (README "One TLS stack"): agent/net/http.c on a
# static libcurl built on Debian's libwolfssl (tools/deps-curl.sh, into
# DEPS_DIR: shared by every build directory, so the sanitizer, valgrind,
# fuzz and release builds link the same uninstrumented library; rebuilt only
# when the script changes), the device key in the handshake through
# agent/net/tls_tpmkey_wolfssl.c.  No libcurl4, libssl or GnuTLS in the
# agent (tests/integration/test_wolfssl.sh).  Debian's libcurl4-openssl-dev
# stays for hw-sim/tools/sim-load (TOOL_LIBS), a test tool.
PKGS_AGENT := libcjson wolfssl inih
DEPS_DIR := build/deps
CURL_A := $(DEPS_DIR)/lib/libcurl.a
# A static libxml2 from Debian's source without ICU, lzma or zlib
# (tools/deps-libxml2.sh, into DEPS_DIR like libcurl): Debian's libxml2 pulls
# ICU into the agent.  entra-sim and the test tools keep Debian's libxml2.
XML_A := $(DEPS_DIR)/lib/libxml2.a
# Static tpm2-tss 4.1.3 from Debian trixie's source (tools/deps-tss.sh, into
# DEPS_DIR like libcurl): ESYS without a crypto backend (the agent's
# wolfCrypt callbacks, tpm/esys_crypto.c), the TCTIs compiled into the
# loader (no dlopen).  Debian's libtss2-esys is built on libcrypto.  TSS_A is
# the one the script writes last; the link lines name all five, esys first
# and mu (which also holds tpm2-tss's log.c) after the libraries needing it.
TSS_A := $(DEPS_DIR)/lib/libtss2-esys.a
TSS_LIBS := $(patsubst %,$(DEPS_DIR)/lib/libtss2-%.a,esys sys tctildr mu rc)
PKGS_SIM   := libmicrohttpd libcjson wolfssl libxml-2.0 gnutls
PKGS_TEST  := cmocka
PKGS_OOBE  := libmicrohttpd libcjson libqrencode

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wpointer-arith -Wno-format-nonliteral
OPT ?= -O2
ifneq ($(VALGRIND),)
OPT := -O0
endif
HARDEN := -fstack-protector-strong -fPIE
ifneq ($(OPT),-O0)
HARDEN += -D_FORTIFY_SOURCE=2
endif
HARDEN_LD := -pie -Wl,-z,relro,-z,now,-z,noexecstack

CPPFLAGS += -D_GNU_SOURCE -I. -I$(BUILD)/gen -MMD -MP
CFLAGS ?= $(OPT) -g
CFLAGS += $(WARN) $(HARDEN)
LDFLAGS += $(HARDEN_LD)

ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
CPPFLAGS += -DLJ_SANITIZED=1
endif

# Test hooks (crash points, the LJ_TEST_NOW clock, `tpm unseal`,
# `csr --test-decrypt`, the soft key provider and simulator TCTIs) exist only
# in builds with TEST_HOOKS=1 (LJ_TEST_HOOKS, platform/testhook.h), the
# default for development and tests.  `make install` builds and installs
# $(REL_BUILD)/linkjoin, always built with TEST_HOOKS=0.
REL_BUILD := build-rel
ifeq ($(BUILD),$(REL_BUILD))
override TEST_HOOKS := 0
endif
TEST_HOOKS ?= 1
ifeq ($(TEST_HOOKS),1)
CPPFLAGS += -DLJ_TEST_HOOKS=1
endif

pc_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pc_libs = $(shell pkg-config --libs $(1) 2>/dev/null)

AGENT_CFLAGS := -I$(DEPS_DIR)/include -I$(DEPS_DIR)/include/libxml2 $(call pc_cflags,$(PKGS_AGENT))
AGENT_LIBS := $(CURL_A) $(XML_A) $(TSS_LIBS) $(call pc_libs,$(PKGS_AGENT)) -lm -lpthread
TOOL_LIBS := $(call pc_libs,libcurl $(PKGS_AGENT) libxml-2.0) -lpthread
SIM_CFLAGS := $(call pc_cflags,$(PKGS_SIM))
SIM_LIBS := $(call pc_libs,$(PKGS_SIM)) -lpthread
TEST_LIBS := $(call pc_libs,$(PKGS_TEST))
OOBE_CFLAGS := $(call pc_cflags,$(PKGS_OOBE))
OOBE_LIBS := $(call pc_libs,$(PKGS_OOBE)) -lpthread

# Small generic helpers that the simulator links too (no protocol code).
COMMON_SRCS := $(sort $(wildcard platform/common/*.c))

LIB_SRCS := $(sort $(wildcard platform/*.c platform/common/*.c) $(wildcard tpm/*.c) \
	$(wildcard agent/*/*.c))
SIM_SRCS := $(sort $(filter-out hw-sim/entra-sim/main.c,$(wildcard hw-sim/entra-sim/*.c)))
TOOL_SRCS := $(sort $(wildcard hw-sim/tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
SIMUNIT_SRCS := $(sort $(wildcard tests/unit/simtest_*.c))
# Helpers linked into every tests/unit/test_* binary (tests/unit/testutil.h).
TESTUTIL_OBJ = $(call obj,tests/unit/testutil.c)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
SIMFUZZ_SRCS := $(sort $(wildcard tests/fuzz/simfuzz_*.c))
# The setup screen's bridge (README "OOBE screen"): platform/oobe/bridge/*.c
# -> build/linkjoin-oobe (main.c is main()); it links platform/common only.
# tests/unit/test_oobe_NAME.c -> build/tests/test_oobe_NAME links its objects.
OOBE_SRCS := $(sort $(wildcard platform/oobe/bridge/*.c))
OOBE_LIB_SRCS := $(filter-out platform/oobe/bridge/main.c,$(OOBE_SRCS))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJS := $(call obj,$(LIB_SRCS))
SIM_OBJS := $(call obj,$(SIM_SRCS) $(COMMON_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
SIMUNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(SIMUNIT_SRCS))
TOOL_BINS := $(patsubst hw-sim/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
# Fuzz targets: one source, two mains.  $(BUILD)/tests/replay/NAME links
# tests/fuzz/replay.c (feeds each corpus file once; built by every build so
# `make test` replays the corpora with gcc, under SANITIZE and valgrind too);
# $(BUILD)/NAME links libFuzzer's main and is only built by `make fuzz`
# (tests/fuzz/build.sh: BUILD=build-fuzz CC=clang SANITIZE=fuzzer-no-link,...).
FUZZ_NAMES := $(basename $(notdir $(FUZZ_SRCS) $(SIMFUZZ_SRCS)))
REPLAY_BINS := $(addprefix $(BUILD)/tests/replay/,$(FUZZ_NAMES))
FUZZ_BINS := $(addprefix $(BUILD)/,$(FUZZ_NAMES))

LINKJOIN := $(BUILD)/linkjoin
ENTRASIM := $(BUILD)/entra-sim
OOBE := $(BUILD)/linkjoin-oobe

.PHONY: all deps test unit integration demo bench fuzz fuzz-targets valgrind clean \
	format format-check check-deps check-layers check-sources sim-device install uninstall \
	release browser-deps oobe-i18n oobe-shots demo-oobe

all: $(LINKJOIN) $(ENTRASIM) $(OOBE) $(TOOL_BINS) oobe-i18n

# The OOBE screen's words per locale (linkjoin-oobe --i18n $(BUILD)/oobe/i18n
# serves them as /i18n/<locale>.json): the agent's catalog from `linkjoin
# messages --locale L --json` less the failure rows (reason.*, admin.*: the
# result events carry those texts already), about 9 KB instead of 32.  An
# agent without that command gets "{}" files, and the screen keeps its
# English.
OOBE_LOCALES := en de fr ja
OOBE_I18N := $(patsubst %,$(BUILD)/oobe/i18n/%.json,$(OOBE_LOCALES))
OOBE_I18N_JQ := with_entries(select(.key | test("^(reason|admin)[.]") | not))
oobe-i18n: $(OOBE_I18N)

$(BUILD)/oobe/i18n/%.json: $(LINKJOIN)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@";)
	$(Q)if $(LINKJOIN) messages --locale $* --json 2>/dev/null | jq -c '$(OOBE_I18N_JQ)' >$@.tmp \
	  2>/dev/null && [ -s $@.tmp ]; then mv -f $@.tmp $@; else rm -f $@.tmp; echo '{}' >$@; fi

$(BUILD)/liblinkjoin.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AR      $@";)
	$(Q)rm -f $@ && ar rcs $@ $^

# --gc-sections: the static libraries are built with one section per function.
# Every binary linking $(BUILD)/liblinkjoin.a links $(CURL_A), $(XML_A) and
# $(TSS_LIBS) (in AGENT_LIBS).
$(LINKJOIN): $(call obj,agent/main.c) $(BUILD)/liblinkjoin.a $(CURL_A) $(XML_A) $(TSS_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--gc-sections -o $@ \
		$(filter-out $(CURL_A) $(XML_A) $(TSS_A),$^) $(AGENT_LIBS)

# The static libcurl on wolfSSL.  `+`: its make shares our job slots.
$(CURL_A): tools/deps-curl.sh tools/deps-src.sh tools/deps-curl.config tools/deps-curl.mk
	+$(Q)DEPS=$(DEPS_DIR) tools/deps-curl.sh build

# The static libxml2 without ICU.  `+`: its make shares our job slots.
$(XML_A): tools/deps-libxml2.sh tools/deps-src.sh tools/deps-libxml2.config tools/deps-libxml2.mk
	+$(Q)DEPS=$(DEPS_DIR) tools/deps-libxml2.sh build

# The static tpm2-tss (all five libraries and include/tss2).  `+`: its make
# shares our job slots.
$(TSS_A): tools/deps-tss.sh tools/deps-src.sh tools/deps-tss.config tools/deps-tss.mk
	+$(Q)DEPS=$(DEPS_DIR) tools/deps-tss.sh build

$(ENTRASIM): $(call obj,hw-sim/entra-sim/main.c) $(SIM_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SIM_LIBS)

$(OOBE): $(call obj,$(OOBE_SRCS) $(COMMON_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(OOBE_LIBS)

# Shorter stem than test_%, so make picks this rule for the bridge's tests.
$(BUILD)/tests/test_oobe_%: $(call obj,tests/unit/test_oobe_%.c) $(call obj,$(OOBE_LIB_SRCS) $(COMMON_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(OOBE_LIBS) $(TEST_LIBS)

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(TESTUTIL_OBJ) $(BUILD)/liblinkjoin.a $(TSS_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out $(TSS_A),$^) $(AGENT_LIBS) $(TEST_LIBS)

$(BUILD)/tests/simtest_%: $(call obj,tests/unit/simtest_%.c) $(SIM_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SIM_LIBS) $(TEST_LIBS)

# The bridge's targets link its objects, not the agent library (shorter stem wins).
$(BUILD)/tests/replay/fuzz_oobe_%: $(call obj,tests/fuzz/fuzz_oobe_%.c tests/fuzz/replay.c) \
		$(call obj,$(OOBE_LIB_SRCS) $(COMMON_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(OOBE_LIBS)

$(BUILD)/fuzz_oobe_%: $(call obj,tests/fuzz/fuzz_oobe_%.c) $(call obj,$(OOBE_LIB_SRCS) $(COMMON_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(OOBE_LIBS)

$(BUILD)/tests/replay/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c tests/fuzz/replay.c) $(BUILD)/liblinkjoin.a \
		$(TSS_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out $(TSS_A),$^) $(AGENT_LIBS)

$(BUILD)/tests/replay/simfuzz_%: $(call obj,tests/fuzz/simfuzz_%.c tests/fuzz/replay.c) $(SIM_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SIM_LIBS)

$(BUILD)/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c) $(BUILD)/liblinkjoin.a $(TSS_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(filter-out $(TSS_A),$^) $(AGENT_LIBS)

$(BUILD)/simfuzz_%: $(call obj,tests/fuzz/simfuzz_%.c) $(SIM_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(SIM_LIBS)

$(BUILD)/%: $(call obj,hw-sim/tools/%.c) $(call obj,$(COMMON_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@";)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TOOL_LIBS)

# The translations (agent/ui/i18n/LOCALE.json) embedded in the agent as byte
# arrays (xxd -i), read by agent/ui/i18n.c.
I18N_LOCALES := de fr ja
I18N_JSON := $(addprefix agent/ui/i18n/,$(addsuffix .json,$(I18N_LOCALES)))
I18N_GEN := $(BUILD)/gen/agent/ui/i18n_data.h
$(I18N_GEN): $(I18N_JSON)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  XXD     $@";)
	$(Q)(cd agent/ui/i18n && for l in $(I18N_LOCALES); do xxd -i $$l.json; done) | \
		sed 's/^unsigned /static const unsigned /' > $@.tmp && mv $@.tmp $@
$(call obj,agent/ui/i18n.c): $(I18N_GEN)

# Per-directory flags keep library include paths where they belong.
$(BUILD)/obj/hw-sim/%.o: hw-sim/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SIM_CFLAGS) -c -o $@ $<

$(BUILD)/obj/platform/oobe/%.o: platform/oobe/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(OOBE_CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/unit/simtest_%.o: tests/unit/simtest_%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SIM_CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/fuzz/simfuzz_%.o: tests/fuzz/simfuzz_%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SIM_CFLAGS) -c -o $@ $<

# The modules that include <curl/curl.h> need its headers installed first.
$(BUILD)/obj/agent/net/%.o: agent/net/%.c | $(CURL_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(AGENT_CFLAGS) -c -o $@ $<

# Those that include libxml2's headers, the static library's (the agent's
# unit tests and fuzz targets too).
$(call obj,$(UNIT_SRCS) $(wildcard tests/fuzz/fuzz_*.c)): | $(XML_A) $(TSS_A)
# tpm/ includes tpm2-tss's headers, build/deps/include/tss2 (AGENT_CFLAGS
# puts it before /usr/include, where Debian's libtss2-dev has 3.2.1's):
# compiled again when they are installed again.
$(call obj,$(wildcard tpm/*.c)): $(TSS_A)
$(BUILD)/obj/agent/proto/%.o: agent/proto/%.c | $(XML_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(AGENT_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<";)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(AGENT_CFLAGS) -c -o $@ $<

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	@tools=(); for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || tools+=($$p); \
	done; \
	if [ $${#tools[@]} -eq 0 ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "deps: missing packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y --no-install-recommends $${tools[*]}"; exit 1; \
	fi; \
	echo "deps: installing $${tools[*]}"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $${tools[@]} >/dev/null
	$(Q)DEPS=$(DEPS_DIR) tools/deps-curl.sh fetch
	$(Q)DEPS=$(DEPS_DIR) tools/deps-libxml2.sh fetch
	$(Q)DEPS=$(DEPS_DIR) tools/deps-tss.sh fetch
	$(Q)$(MAKE) --no-print-directory browser-deps

# npm ci in tests/browser, skipped while node_modules was installed from the
# same package-lock.json (its sha256 in node_modules/.lock-sha256).
browser-deps:
	@want=$$(sha256sum $(BROWSER_DIR)/package-lock.json | cut -c1-64); \
	[ "$$(cat $(BROWSER_DIR)/node_modules/.lock-sha256 2>/dev/null)" = "$$want" ] && exit 0; \
	command -v npm >/dev/null || { echo "deps: npm is missing (Node.js 20 with npm)"; exit 1; }; \
	echo "deps: npm ci in $(BROWSER_DIR)"; \
	(cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
	  --loglevel=error >/dev/null) && echo "$$want" >$(BROWSER_DIR)/node_modules/.lock-sha256

check-deps:
	@for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo "missing: $$p"; done

build-tests: all $(UNIT_BINS) $(SIMUNIT_BINS) $(REPLAY_BINS)

# Internal: tests/fuzz/build.sh calls this with the clang/libFuzzer settings.
fuzz-targets: $(FUZZ_BINS)

# Every #include "..." in agent/, tpm/, platform/ against the layer order
# (README "Code layout"); `make test` runs it before the tests.
check-layers:
	$(Q)tools/check-layers.sh

# Files at most 1,000 lines, each .c opening with its job, no outside notes
# cited (tools/check-sources.sh); `make test` runs it before the tests.
check-sources:
	$(Q)tools/check-sources.sh

test: deps
	$(Q)tools/check-layers.sh
	$(Q)tools/check-sources.sh
	$(Q)$(MAKE) --no-print-directory build-tests
	$(Q)LJ_BUILD=$(BUILD) tests/run.sh

unit: build-tests
	$(Q)LJ_BUILD=$(BUILD) tests/run.sh --unit

integration: build-tests
	$(Q)LJ_BUILD=$(BUILD) tests/run.sh --integration

valgrind: deps
	$(Q)$(MAKE) --no-print-directory VALGRIND=1 build-tests
	$(Q)LJ_BUILD=build-vg LJ_VALGRIND=1 LJ_SCRIPT_TIMEOUT=5400 tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LJ_BUILD=$(BUILD) hw-sim/demo.sh

# A simulated Link device: Debian's cloud kernel (apt-get download, never
# installed) + busybox initramfs with the agent in QEMU (TCG) with a swtpm
# TPM, joining entra-sim on loopback (the host approves the device code);
# see hw-sim/qemu/README.md.
sim-device: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LJ_BUILD=$(BUILD) hw-sim/qemu/demo.sh

# The OOBE web screen in headless chromium: a PNG of every screen the browser
# tests pass through (tests/integration/test_oobe_browser.sh) under
# $(BUILD)/oobe-shots/.
oobe-shots: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rm -rf $(BUILD)/oobe-shots && mkdir -p $(BUILD)/oobe-shots
	$(Q)LJ_BUILD=$(BUILD) LJ_OOBE_SHOTS=$(CURDIR)/$(BUILD)/oobe-shots \
	  bash tests/integration/test_oobe_browser.sh
	@echo "oobe-shots: $$(ls $(BUILD)/oobe-shots | wc -l) pictures in $(BUILD)/oobe-shots/"

# `make demo` with the OOBE screen: the agent behind linkjoin-oobe, the page
# in headless chromium, a picture of each screen it shows.
demo-oobe: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LJ_BUILD=$(BUILD) hw-sim/demo-oobe.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LJ_BUILD=$(BUILD) tests/bench/run.sh

fuzz: deps
	$(Q)tests/fuzz/build.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-vg build-fuzz build-dev build-rel

# ---- Install ----
# The binary goes to sbin: it is a system service and an administrator's
# tool (man section 8).  The configuration lives in /etc/linkjoin whatever
# the PREFIX, because that path is compiled in (LJ_CONFIG_DEFAULT_PATH).
# An existing linkjoin.conf is never overwritten, and uninstall removes it
# only when it is still the shipped one.  The state directory
# (/var/lib/linkjoin) belongs to the device: neither target touches it.
# The installed binary is $(REL_BUILD)/linkjoin, built without test hooks in
# its own directory (`make release`), so the test build in $(BUILD) and its
# objects are untouched.
# On a live system afterwards: systemd-sysusers; systemctl daemon-reload;
# systemctl enable linkjoin.service linkjoin-mdm-retry.timer linkjoin-prt-renew.timer \
#   linkjoin-token.socket
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The setup screen: the page's files (platform/oobe/www/, and its words per
# locale in i18n/, where linkjoin-oobe looks by default) and the kiosk launcher.
OOBEDIR ?= $(PREFIX)/share/linkjoin/oobe
LIBEXECDIR ?= $(PREFIX)/libexec/linkjoin
CONFDIR := /etc/linkjoin
DIST := platform/dist
DIST_UNITS_IN := linkjoin.service linkjoin-mdm-retry.service linkjoin-prt-renew.service \
	linkjoin-token@.service linkjoin-oobe.service
# Units installed as they are (no @SBINDIR@ in them).
DIST_TIMERS := linkjoin-mdm-retry.timer linkjoin-prt-renew.timer linkjoin-token.socket
KIOSK_DIR := platform/oobe/kiosk
KIOSK_UNIT := linkjoin-oobe-kiosk.service
DIST_UNITS := $(DIST_UNITS_IN) $(DIST_TIMERS) $(KIOSK_UNIT)
OOBE_WWW := $(notdir $(sort $(wildcard platform/oobe/www/*.html platform/oobe/www/*.js \
	platform/oobe/www/*.css)))
UNIT_SED := -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@OOBEDIR@|$(OOBEDIR)|g' \
	-e 's|@KIOSK@|$(LIBEXECDIR)/linkjoin-oobe-kiosk|g'

release:
	+$(Q)$(MAKE) --no-print-directory BUILD=$(REL_BUILD) SANITIZE= VALGRIND= $(REL_BUILD)/linkjoin \
	  $(REL_BUILD)/linkjoin-oobe oobe-i18n

install: release
	$(Q)install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(OOBEDIR) \
	  $(DESTDIR)$(OOBEDIR)/i18n
	$(Q)install -m 0755 $(REL_BUILD)/linkjoin $(DESTDIR)$(SBINDIR)/linkjoin
	$(Q)install -m 0755 $(REL_BUILD)/linkjoin-oobe $(DESTDIR)$(SBINDIR)/linkjoin-oobe
	$(Q)install -m 0755 $(KIOSK_DIR)/linkjoin-oobe-kiosk $(DESTDIR)$(LIBEXECDIR)/linkjoin-oobe-kiosk
	$(Q)for f in $(OOBE_WWW); do install -m 0644 platform/oobe/www/$$f $(DESTDIR)$(OOBEDIR)/$$f || exit 1; done
	$(Q)for l in $(OOBE_LOCALES); do \
	  install -m 0644 $(REL_BUILD)/oobe/i18n/$$l.json $(DESTDIR)$(OOBEDIR)/i18n/$$l.json || exit 1; done
	$(Q)install -m 0644 $(DIST)/linkjoin.8 $(DESTDIR)$(MANDIR)/man8/linkjoin.8
	$(Q)for u in $(DIST_UNITS_IN) $(KIOSK_UNIT); do \
	  src=$(DIST)/$$u.in; [ -e $$src ] || src=$(KIOSK_DIR)/$$u.in; \
	  sed $(UNIT_SED) $$src >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	  mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(Q)for t in $(DIST_TIMERS); do install -m 0644 $(DIST)/$$t $(DESTDIR)$(UNITDIR)/$$t || exit 1; done
	$(Q)install -m 0644 $(DIST)/linkjoin.sysusers $(DESTDIR)$(SYSUSERSDIR)/linkjoin.conf
	$(Q)if [ -e $(DESTDIR)$(CONFDIR)/linkjoin.conf ]; then \
	  echo "install: keeping existing $(DESTDIR)$(CONFDIR)/linkjoin.conf"; \
	else \
	  install -m 0644 $(DIST)/linkjoin.conf $(DESTDIR)$(CONFDIR)/linkjoin.conf; \
	fi
	@echo "installed linkjoin into $(DESTDIR)$(PREFIX) and $(DESTDIR)$(CONFDIR)"

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/linkjoin $(DESTDIR)$(MANDIR)/man8/linkjoin.8 \
	  $(addprefix $(DESTDIR)$(UNITDIR)/,$(DIST_UNITS)) $(DESTDIR)$(SYSUSERSDIR)/linkjoin.conf \
	  $(DESTDIR)$(SBINDIR)/linkjoin-oobe $(DESTDIR)$(LIBEXECDIR)/linkjoin-oobe-kiosk \
	  $(addprefix $(DESTDIR)$(OOBEDIR)/,$(OOBE_WWW)) \
	  $(patsubst %,$(DESTDIR)$(OOBEDIR)/i18n/%.json,$(OOBE_LOCALES))
	$(Q)rmdir $(DESTDIR)$(OOBEDIR)/i18n $(DESTDIR)$(OOBEDIR) $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	$(Q)rmdir $(DESTDIR)$(dir $(OOBEDIR)) 2>/dev/null || true
	$(Q)if cmp -s $(DIST)/linkjoin.conf $(DESTDIR)$(CONFDIR)/linkjoin.conf; then \
	  rm -f $(DESTDIR)$(CONFDIR)/linkjoin.conf; \
	elif [ -e $(DESTDIR)$(CONFDIR)/linkjoin.conf ]; then \
	  echo "uninstall: keeping modified $(DESTDIR)$(CONFDIR)/linkjoin.conf"; \
	fi
	$(Q)rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || true

# Keep object files that only pattern rules produce.
.SECONDARY:
