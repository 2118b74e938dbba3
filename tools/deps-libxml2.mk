# tools/deps-libxml2.mk — compiles libxml2's sources into OUT/libxml2.a
# without its configure and libtool (tools/deps-libxml2.sh, when
# tools/deps-libxml2.config names this machine): SRC is the unpacked source
# tree holding config.h and include/libxml/xmlversion.h from that file.
# The list is what the options in tools/deps-libxml2.sh put in libxml2.a
# (`ar t`); modules switched off compile to nothing.
SRCS := HTMLparser.c HTMLtree.c SAX.c SAX2.c buf.c c14n.c catalog.c chvalid.c \
	debugXML.c dict.c encoding.c entities.c error.c globals.c hash.c \
	legacy.c list.c nanoftp.c nanohttp.c parser.c parserInternals.c \
	pattern.c relaxng.c schematron.c threads.c tree.c uri.c valid.c \
	xinclude.c xlink.c xmlIO.c xmlmemory.c xmlmodule.c xmlreader.c \
	xmlregexp.c xmlsave.c xmlschemas.c xmlschemastypes.c xmlstring.c \
	xmlunicode.c xmlwriter.c xpath.c xpointer.c xzlib.c
OBJS := $(patsubst %.c,$(OUT)/%.o,$(SRCS))

$(OUT)/libxml2.a: $(OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(OUT)/%.o: $(SRC)/%.c
	@mkdir -p $(@D)
	$(CC) -DHAVE_CONFIG_H -D_FORTIFY_SOURCE=2 -D_REENTRANT -I$(SRC)/include -I$(SRC) \
		$(CFLAGS) -c -o $@ $<
