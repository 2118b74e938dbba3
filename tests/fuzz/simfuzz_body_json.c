/*
 * simfuzz_body_json — entra-sim's JSON request body reader (srv_body_json:
 * NUL and depth pre-scan, then cJSON), which the join body and the control
 * API go through.  It only reads r->body, so a zeroed request whose body is
 * filled the way the server fills it (sim_buf, NUL-terminated) is enough;
 * the rest of the join body handling (parse_join in drs.c) needs a live
 * MHD connection for its replies, so its sub-parsers are fuzzed
 * separately (simfuzz_csr, simfuzz_rsa1).
 */
#include "tests/fuzz/fuzz.h"

#include "hw-sim/entra-sim/server.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sim_req r;
    cJSON *o;

    lj_err_clear();
    memset(&r, 0, sizeof(r));
    r.body.max = 1024 * 1024;
    sim_buf_add(&r.body, data, size);
    if (r.body.err) {
        sim_buf_free(&r.body, false);
        return 0;
    }
    o = srv_body_json(&r);
    if (o != NULL) {
        char *txt = cJSON_PrintUnformatted(o);
        free(txt);
        cJSON_Delete(o);
    }
    sim_buf_free(&r.body, false);
    return 0;
}
