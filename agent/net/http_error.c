/*
 * http_error.c — the one place that maps a libcurl result (CURLcode, the
 * TLS verify result and curl's error text) to enum lj_rc and a phrase in
 * our words (see http.h); split from http.c, which applies the proxy's
 * CONNECT answer on top (proxy_error).
 */
#include "agent/net/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static bool
mentions_name_mismatch(const char *e)
{
    return e != NULL &&
           (strstr(e, "subject name") != NULL || strstr(e, "does not match target host") != NULL ||
            strstr(e, "DOMAIN_NAME_MISMATCH") != NULL ||
            strstr(e, "domain name mismatch") != NULL || strstr(e, "hostname mismatch") != NULL ||
            strstr(e, "IP address mismatch") != NULL);
}

enum lj_rc
lj_http__map_error(int curl_code, long verify_result, const char *errbuf, bool too_big, char *what,
                   size_t wsz)
{
    enum lj_rc rc;
    const char *w;

    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        rc = LJ_OK;
        w = "ok";
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        rc = LJ_ERR_NET_DNS;
        w = "the name did not resolve (DNS)";
        break;
    case CURLE_COULDNT_CONNECT:
        rc = LJ_ERR_NET_CONNECT;
        w = "the TCP connection was refused or the host is unreachable";
        break;
    case CURLE_OPERATION_TIMEDOUT:
        rc = LJ_ERR_NET_TIMEOUT;
        w = "timed out";
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        if (mentions_name_mismatch(errbuf)) {
            rc = LJ_ERR_TLS_HOSTNAME;
            w = "the server certificate does not name this host";
        } else if (verify_result == 9 || verify_result == 10) {
            /* X509_V_ERR_CERT_NOT_YET_VALID / _HAS_EXPIRED */
            rc = LJ_ERR_TLS;
            w = "the server certificate is not valid at the current time (check the clock)";
        } else if (verify_result == 0 && errbuf != NULL &&
                   strstr(errbuf, "SSL certificate") == NULL) {
            rc = LJ_ERR_TLS_HOSTNAME;
            w = "the server certificate does not name this host";
        } else {
            rc = LJ_ERR_TLS_UNTRUSTED;
            w = "the server certificate is not trusted (unknown issuer; a proxy inspecting "
                "TLS is the usual cause)";
        }
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        if (mentions_name_mismatch(errbuf)) {
            rc = LJ_ERR_TLS_HOSTNAME;
            w = "the server certificate does not name this host";
        } else if (errbuf != NULL && strstr(errbuf, "ASN date error") != NULL) {
            /* wolfSSL ASN_BEFORE_DATE_E / ASN_AFTER_DATE_E */
            rc = LJ_ERR_TLS;
            w = "the server certificate is not valid at the current time (check the clock)";
        } else {
            rc = LJ_ERR_TLS;
            w = "the TLS handshake failed";
        }
        break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        if (errbuf != NULL && strstr(errbuf, "CA signer not available") != NULL) {
            /* curl's wolfSSL backend: ASN_NO_SIGNER_E, an unknown issuer */
            rc = LJ_ERR_TLS_UNTRUSTED;
            w = "the server certificate is not trusted (unknown issuer; a proxy inspecting "
                "TLS is the usual cause)";
            break;
        }
        rc = LJ_ERR_CONFIG;
        w = "the CA file (ca_file) could not be read";
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (too_big || curl_code == CURLE_FILESIZE_EXCEEDED) {
            rc = LJ_ERR_TOO_BIG;
            w = "the response was larger than allowed";
        } else {
            rc = LJ_ERR_NOMEM;
            w = "out of memory while receiving";
        }
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        rc = LJ_ERR_CANCELLED;
        w = "cancelled";
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        rc = LJ_ERR_NET_CONNECT;
        w = "the connection closed before the response was complete";
        break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP3:
        rc = LJ_ERR_PROTOCOL;
        w = "the server's reply was not valid HTTP";
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        rc = LJ_ERR_INVAL;
        w = "the URL is not a valid https URL";
        break;
    case CURLE_OUT_OF_MEMORY:
        rc = LJ_ERR_NOMEM;
        w = "out of memory";
        break;
    default:
        rc = LJ_ERR_HTTP;
        w = "the request failed";
        break;
    }
    if (what != NULL && wsz > 0)
        snprintf(what, wsz, "%s", w);
    return rc;
}
