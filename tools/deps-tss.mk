# tools/deps-tss.mk — compiles tpm2-tss's sources into OUT/libtss2-*.a
# without its configure and libtool (tools/deps-tss.sh): SRC is the unpacked
# source tree holding config.h from tools/deps-tss.config.
# The lists are Makefile.am's for the options in tools/deps-tss.sh: ESYS
# without esys_crypto_ossl.c/esys_crypto_mbed.c (--with-crypto=none), the
# TCTI loader with tctildr-nodl.c and the device, swtpm and mssim TCTIs in
# it (--enable-nodl).  Upstream links its internal util library (log.c,
# key-value-parse.c) into each shared library; here it is in libtss2-mu.a
# only, which the agent links after the others.
MU_SRCS := $(addprefix src/tss2-mu/,base-types.c tpm2b-types.c tpma-types.c \
	tpml-types.c tpms-types.c tpmt-types.c tpmu-types.c) \
	src/util/log.c src/util/key-value-parse.c
RC_SRCS := src/tss2-rc/tss2_rc.c
SYS_SRCS := src/tss2-sys/sysapi_util.c $(sort $(patsubst $(SRC)/%,%,$(wildcard $(SRC)/src/tss2-sys/api/*.c)))
ESYS_SRCS := $(addprefix src/tss2-esys/,esys_context.c esys_crypto.c esys_free.c \
	esys_iutil.c esys_mu.c esys_tr.c) \
	$(sort $(patsubst $(SRC)/%,%,$(wildcard $(SRC)/src/tss2-esys/api/*.c)))
TCTILDR_SRCS := $(addprefix src/tss2-tcti/,tctildr.c tctildr-nodl.c tcti-common.c \
	tcti-device.c tcti-swtpm.c tcti-mssim.c) src/util-io/io.c

LIBS := mu rc sys esys tctildr
o = $(patsubst %.c,$(OUT)/%.o,$(1))

all: $(foreach l,$(LIBS),$(OUT)/libtss2-$(l).a)

$(OUT)/libtss2-mu.a: $(call o,$(MU_SRCS))
$(OUT)/libtss2-rc.a: $(call o,$(RC_SRCS))
$(OUT)/libtss2-sys.a: $(call o,$(SYS_SRCS))
$(OUT)/libtss2-esys.a: $(call o,$(ESYS_SRCS))
$(OUT)/libtss2-tctildr.a: $(call o,$(TCTILDR_SRCS))

$(OUT)/libtss2-%.a:
	rm -f $@
	$(AR) rcs $@ $^

# Each TCTI defines Tss2_Tcti_Info, the entry point of its own shared
# library; linked together into one program they would clash.  The loader
# does not call it (tctildr-nodl.c calls the Init functions).
$(OUT)/src/tss2-tcti/tcti-device.o: DEFS = -DTss2_Tcti_Info=Tss2_Tcti_Device_Info
$(OUT)/src/tss2-tcti/tcti-swtpm.o: DEFS = -DTss2_Tcti_Info=Tss2_Tcti_Swtpm_Info
$(OUT)/src/tss2-tcti/tcti-mssim.o: DEFS = -DTss2_Tcti_Info=Tss2_Tcti_Mssim_Info

$(OUT)/%.o: $(SRC)/%.c
	@mkdir -p $(@D)
	$(CC) -DHAVE_CONFIG_H -D_FORTIFY_SOURCE=2 $(DEFS) -I$(SRC) -I$(SRC)/src -I$(SRC)/include/tss2 \
		-I$(SRC)/src/tss2-sys -I$(SRC)/src/tss2-esys $(CFLAGS) -c -o $@ $<
