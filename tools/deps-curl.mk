# tools/deps-curl.mk — libcurl.a from Debian's curl source without running
# its configure or libtool: tools/deps-curl.sh build uses it when
# tools/deps-curl.config (curl_config.h as configure wrote it for the
# options in deps-curl.sh) was made on a machine like this one.  The file
# list is curl's own (lib/Makefile.inc, CSOURCES) and the flags are those
# of its lib/Makefile.am for a static library with hidden symbols.
#
#   make -f tools/deps-curl.mk SRC=DEPS/src/curl OUT=DIR [CFLAGS=...]
#
# SRC/lib/curl_config.h must exist; the objects and OUT/libcurl.a go to OUT.
include $(SRC)/lib/Makefile.inc

CC ?= gcc
CFLAGS ?= -O2 -fPIC -fstack-protector-strong -ffunction-sections -fdata-sections
CURL_CPPFLAGS := -DHAVE_CONFIG_H -DBUILDING_LIBCURL -DCURL_STATICLIB -DCURL_HIDDEN_SYMBOLS \
	-D_FORTIFY_SOURCE=2 -I$(SRC)/include -I$(SRC)/lib
CURL_CFLAGS := -fvisibility=hidden -Werror-implicit-function-declaration

OBJS := $(patsubst %.c,$(OUT)/%.o,$(CSOURCES))

$(OUT)/libcurl.a: $(OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(OUT)/%.o: $(SRC)/lib/%.c $(SRC)/lib/curl_config.h
	@mkdir -p $(@D)
	@$(CC) $(CURL_CPPFLAGS) $(CFLAGS) $(CURL_CFLAGS) -c -o $@ $<
