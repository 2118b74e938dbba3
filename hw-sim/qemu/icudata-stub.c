/*
 * icudata-stub.c — an empty ICU data library for the simulated device's
 * initramfs (mkinitramfs.sh builds it as libicudata.so.NN in place of the
 * real 31 MB one).
 *
 * Design note: build/linkjoin needs libxml2, which Debian links against
 * ICU's libicuuc, which needs the symbol icudtNN_dat from libicudata.  The
 * agent's XML is UTF-8 (native in libxml2; ICU is only a fallback for other
 * encodings), so nothing ever reads ICU's data.  This is ICU's own
 * "stubdata" idea (icu4c/source/stubdata): a common-data header with an
 * empty table of contents, so an ICU lookup fails cleanly
 * (U_FILE_ACCESS_ERROR) instead of crashing.  Halves the initramfs and with
 * it the time the TCG guest spends unpacking it.  mkinitramfs.sh --full-icu
 * keeps the real library.  Build:
 *   cc -shared -fPIC -nostdlib -DLJ_ICU_MAJOR=72 -Wl,-soname,libicudata.so.72
 */
#include <stdint.h>

#ifndef LJ_ICU_MAJOR
#error "define LJ_ICU_MAJOR (the NN of libicudata.so.NN)"
#endif
#define LJ_CAT3(a, b, c) a##b##c
#define LJ_SYM(v) LJ_CAT3(icudt, v, _dat)

/* ICU_Data_Header of icu4c/source/common/ucmndata.h with its UDataInfo. */
struct icu_data_header {
    uint16_t header_size;
    uint8_t magic1, magic2;
    uint16_t info_size, info_reserved;
    uint8_t is_big_endian, charset_family, sizeof_uchar, info_reserved_byte;
    uint8_t data_format[4], format_version[4], data_version[4];
    char padding[8];
    uint32_t count, reserved;
    uint32_t toc[2];
    int fake_name_and_data[4];
};

/* Exported: libicuuc resolves it at load time. */
__attribute__((visibility("default"))) const struct icu_data_header LJ_SYM(LJ_ICU_MAJOR) = {
    32,
    0xda,
    0x27, /* header size, magic */
    20,
    0,
    0,
    0,
    2,
    0,                        /* UDataInfo: size, LE, ASCII, sizeof(UChar) */
    {0x54, 0x6f, 0x43, 0x50}, /* "ToCP": a table of contents */
    {1, 0, 0, 0},
    {0, 0, 0, 0},
    {0},
    0,
    0, /* padding, count = 0 entries */
    {0, 0},
    {0, 0, 0, 0}};
