/* CCurl shim: typed wrappers for libcurl's variadic and macro API (STYLE habit 2).
 *
 * curl_easy_setopt and curl_easy_getinfo are variadic and cannot be called from
 * Swift; each wrapper below fixes the argument type for one family of options.
 * Only the HTTPClient module imports this header.
 */
#ifndef IEC_CURL_SHIM_H
#define IEC_CURL_SHIM_H

#include <curl/curl.h>

/* The write / header callback type (same C signature for both options). */
typedef size_t (*iec_curl_data_callback)(char *buffer, size_t size, size_t nitems, void *userdata);

/* curl_global_init(CURL_GLOBAL_DEFAULT): the macro does not import into Swift. */
static inline CURLcode iec_curl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Options taking a long (flags, sizes, milliseconds, enum values). */
static inline CURLcode iec_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options taking a curl_off_t (the *_LARGE options). */
static inline CURLcode iec_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options taking a C string. libcurl copies strings, except CURLOPT_POSTFIELDS
 * (use CURLOPT_COPYPOSTFIELDS instead) and CURLOPT_ERRORBUFFER (use
 * iec_curl_easy_setopt_pointer). */
static inline CURLcode iec_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options taking an untyped pointer (userdata, error buffer). The caller keeps
 * the memory alive for as long as the handle may use it. */
static inline CURLcode iec_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options taking a header list. The caller frees the list after the transfer. */
static inline CURLcode iec_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION. */
static inline CURLcode iec_curl_easy_setopt_data_callback(CURL *handle, CURLoption option,
                                                          iec_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

/* Info items returning a long (CURLINFO_RESPONSE_CODE, ...). */
static inline CURLcode iec_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif /* IEC_CURL_SHIM_H */
