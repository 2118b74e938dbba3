/*
 * qrsvg.c — QR code (libqrencode) of a URL, drawn as SVG.
 *
 * Design note: the document is written twice, first to count its bytes and
 * then into one buffer of exactly that size, so there is no growing buffer
 * and no bound to guess.  The view box is in modules (crispEdges, no
 * anti-aliased seams between runs); the page sizes the image by CSS.
 */
#include "platform/oobe/bridge/qrsvg.h"

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QR_MAX_WIDTH 177 /* version 40 */

/* Append to buf (size cap) at *at, or only count when buf is NULL. */
static void
emit(char *buf, size_t cap, size_t *at, const char *fmt, int a, int b, int c)
{
    int n = snprintf(buf != NULL ? buf + *at : NULL, buf != NULL ? cap - *at : 0, fmt, a, b, c);

    if (n > 0)
        *at += (size_t)n;
}

static size_t
write_svg(char *buf, size_t cap, const unsigned char *m, int w)
{
    int side = w + 2 * OOBE_QR_QUIET, x, y;
    size_t at = 0;

    emit(buf, cap, &at,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
         "shape-rendering=\"crispEdges\" role=\"img\">"
         "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
         side, side, 0);
    for (y = 0; y < w; y++) {
        for (x = 0; x < w;) {
            int run = 0;
            while (x + run < w && (m[y * w + x + run] & 1))
                run++;
            if (run > 0) {
                emit(buf, cap, &at, "M%d %dh%d", x + OOBE_QR_QUIET, y + OOBE_QR_QUIET, run);
                emit(buf, cap, &at, "v1h-%dz", run, 0, 0);
                x += run;
            } else {
                x++;
            }
        }
    }
    emit(buf, cap, &at, "\"/></svg>\n", 0, 0, 0);
    return at;
}

char *
oobe_svg_from_modules(const unsigned char *modules, int width, size_t *len)
{
    size_t need, got;
    char *buf;

    if (modules == NULL || width < 1 || width > QR_MAX_WIDTH)
        return NULL;
    need = write_svg(NULL, 0, modules, width);
    buf = malloc(need + 1);
    if (buf == NULL)
        return NULL;
    got = write_svg(buf, need + 1, modules, width);
    if (got != need) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

char *
oobe_qr_svg(const char *text, size_t *len)
{
    QRcode *qr;
    size_t n, i;
    char *svg;

    if (text == NULL)
        return NULL;
    n = strnlen(text, OOBE_QR_MAX_TEXT + 1);
    if (n == 0 || n > OOBE_QR_MAX_TEXT)
        return NULL;
    for (i = 0; i < n; i++)
        if (text[i] < 0x21 || text[i] > 0x7e)
            return NULL;
    qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return NULL;
    svg = oobe_svg_from_modules(qr->data, qr->width, len);
    QRcode_free(qr);
    return svg;
}
