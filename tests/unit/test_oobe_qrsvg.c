/*
 * Unit tests for platform/oobe/bridge/qrsvg.c: the exact SVG of a small
 * module matrix (runs merged per row, quiet zone 4), the bounds, and a
 * QR code of a verification URL from libqrencode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/oobe/bridge/qrsvg.h"

static void
test_svg_exact(void **state)
{
    /* 3x3: row 0 dark dark light, row 1 light light light, row 2 dark light dark */
    const unsigned char m[9] = {1, 1, 0, 0, 0, 0, 1, 0, 3};
    size_t len = 0;
    char *svg = oobe_svg_from_modules(m, 3, &len);

    (void)state;
    assert_non_null(svg);
    assert_string_equal(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 11 11\" "
                             "shape-rendering=\"crispEdges\" role=\"img\">"
                             "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
                             "<path fill=\"#000\" d=\"M4 4h2v1h-2zM4 6h1v1h-1zM6 6h1v1h-1z\"/>"
                             "</svg>\n");
    assert_int_equal(len, strlen(svg));
    free(svg);
}

static void
test_svg_bounds(void **state)
{
    unsigned char *m = calloc(178 * 178, 1);
    size_t len = 0;
    char *svg;

    (void)state;
    assert_non_null(m);
    assert_null(oobe_svg_from_modules(m, 0, &len));
    assert_null(oobe_svg_from_modules(m, 178, &len));
    assert_null(oobe_svg_from_modules(NULL, 21, &len));
    /* the largest symbol, all dark: one run per row */
    memset(m, 1, 177 * 177);
    svg = oobe_svg_from_modules(m, 177, &len);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "viewBox=\"0 0 185 185\""));
    assert_non_null(strstr(svg, "M4 180h177v1h-177z"));
    free(svg);
    free(m);
}

static void
test_qr_of_url(void **state)
{
    size_t len = 0;
    char *svg = oobe_qr_svg("https://microsoft.com/devicelogin", &len);
    char *big;

    (void)state;
    assert_non_null(svg);
    /* 33 bytes at level M: version 3, 29 modules + 8 of quiet zone */
    assert_non_null(strstr(svg, "viewBox=\"0 0 37 37\""));
    /* the top-left finder pattern: a run of 7 at the quiet zone's corner */
    assert_non_null(strstr(svg, "d=\"M4 4h7v1h-7z"));
    free(svg);
    assert_null(oobe_qr_svg("", &len));
    assert_null(oobe_qr_svg(NULL, &len));
    assert_null(oobe_qr_svg("https://a.example/x y", &len));
    assert_null(oobe_qr_svg("https://a.example/\n", &len));
    big = malloc(OOBE_QR_MAX_TEXT + 2);
    assert_non_null(big);
    memset(big, 'a', OOBE_QR_MAX_TEXT + 1);
    big[OOBE_QR_MAX_TEXT + 1] = '\0';
    assert_null(oobe_qr_svg(big, &len));
    big[OOBE_QR_MAX_TEXT] = '\0';
    svg = oobe_qr_svg(big, &len);
    assert_non_null(svg);
    free(svg);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_exact),
        cmocka_unit_test(test_svg_bounds),
        cmocka_unit_test(test_qr_of_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
