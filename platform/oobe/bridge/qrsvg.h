/*
 * qrsvg.h — the device-code prompt's URL as a QR code in SVG, for the page
 * to show beside the code (GET /qr.svg).  libqrencode makes the symbol;
 * the SVG is written here: one rect per run of dark modules in a row, on a
 * white square with a quiet zone of 4 modules (ISO/IEC 18004 asks for 4).
 */
#ifndef LJ_OOBE_QRSVG_H
#define LJ_OOBE_QRSVG_H

#include <stddef.h>

/* Longest text encoded (a verification URL; QR 8-bit at level M holds 2331). */
#define OOBE_QR_MAX_TEXT 2048
#define OOBE_QR_QUIET 4

/*
 * SVG of a symbol width x width modules; modules[y * width + x] has bit 0
 * set for a dark module (libqrencode's QRcode.data layout).  Pure.
 * Returns a malloc'ed NUL-terminated document (caller frees with free()),
 * its length in *len; NULL when width is not 1..177 or memory runs out.
 */
char *oobe_svg_from_modules(const unsigned char *modules, int width, size_t *len);

/*
 * The QR code (error correction M, 8-bit mode) of text as SVG.  text: 1 to
 * OOBE_QR_MAX_TEXT bytes of printable ASCII.  Returns as
 * oobe_svg_from_modules; NULL on bad text or a libqrencode failure.
 */
char *oobe_qr_svg(const char *text, size_t *len);

#endif
