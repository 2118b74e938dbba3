/*
 * fuzz_config — the configuration file parser (lj_config_load_text: line
 * checks, libinih, every key's validation).  On success the config is
 * validated and dumped, and the dump must load back to the same dump
 * (config.h promises lj_config_dump writes a file that reads back to the
 * same values).  On failure cfg->error must name the file.
 */
#include <stdio.h>

#include "tests/fuzz/fuzz.h"

#include "agent/core/config.h"

static char *
dump(const struct lj_config *cfg, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    FUZZ_CHECK(f != NULL);
    lj_config_dump(cfg, f);
    FUZZ_CHECK(fclose(f) == 0);
    return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lj_config cfg, again;
    char *d1 = NULL, *d2 = NULL;
    size_t n1 = 0, n2 = 0;

    lj_err_clear();
    lj_config_defaults(&cfg);
    if (lj_config_load_text(&cfg, "fuzz.conf", (const char *)data, size) != LJ_OK) {
        FUZZ_TERMINATED(cfg.error);
        FUZZ_CHECK(strncmp(cfg.error, "fuzz.conf", 9) == 0);
        return 0;
    }
    (void)lj_config_validate(&cfg);
    FUZZ_TERMINATED(cfg.error);
    (void)lj_signin_name(cfg.signin);
    (void)lj_key_provider_name(cfg.key_provider);
    (void)lj_ui_kind_name(cfg.ui);
    d1 = dump(&cfg, &n1);
    lj_config_defaults(&again);
    if (lj_config_load_text(&again, "dump.conf", d1, n1) != LJ_OK) {
        fprintf(stderr, "dump does not load back: %s\n--- dump:\n%s", again.error, d1);
        abort();
    }
    d2 = dump(&again, &n2);
    if (n1 != n2 || memcmp(d1, d2, n1) != 0) {
        fprintf(stderr, "dump changed on reload:\n--- first:\n%s--- second:\n%s", d1, d2);
        abort();
    }
    free(d1);
    free(d2);
    return 0;
}
