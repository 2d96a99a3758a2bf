#ifndef IEC_CLDAP_SHIM_H
#define IEC_CLDAP_SHIM_H

// libldap 2.5 (OpenLDAP), with typed wrappers for what Swift cannot import:
// macros with casts, LDAP_SASL_SIMPLE, and the constants LDAPKit uses.
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <lber.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static inline int iec_ldap_scope_base(void) { return LDAP_SCOPE_BASE; }
static inline int iec_ldap_scope_onelevel(void) { return LDAP_SCOPE_ONELEVEL; }
static inline int iec_ldap_scope_subtree(void) { return LDAP_SCOPE_SUBTREE; }

/// Simple bind (LDAP_SASL_SIMPLE is a macro Swift does not import).
static inline int iec_ldap_simple_bind(LDAP *ld, const char *dn, const char *password, size_t length) {
    struct berval credentials;
    credentials.bv_val = (char *)password;
    credentials.bv_len = (ber_len_t)length;
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &credentials, NULL, NULL, NULL);
}

static inline int iec_ldap_set_int(LDAP *ld, int option, int value) { return ldap_set_option(ld, option, &value); }
static inline int iec_ldap_set_string(LDAP *ld, int option, const char *value) { return ldap_set_option(ld, option, value); }
static inline int iec_ldap_set_timeout(LDAP *ld, int option, double seconds) {
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return ldap_set_option(ld, option, &tv);
}
static inline int iec_ldap_set_off(LDAP *ld, int option) { return ldap_set_option(ld, option, LDAP_OPT_OFF); }
/// A new TLS context after setting TLS options (so per-handle CA files apply).
static inline int iec_ldap_new_tls_context(LDAP *ld) { int zero = 0; return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero); }

/// The socket of the connection, or -1.
static inline int iec_ldap_socket(LDAP *ld) {
    int fd = -1;
    if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS) return -1;
    return fd;
}

/// True when an idle connection's socket is readable or closed: a server that
/// restarted or dropped us sent EOF (or a notice of disconnection) meanwhile.
static inline int iec_ldap_idle_socket_is_stale(LDAP *ld) {
    int fd = iec_ldap_socket(ld);
    if (fd < 0) return 1;
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    int n = poll(&p, 1, 0);
    if (n < 0) return 1;
    return n > 0 ? 1 : 0;
}

/// The diagnostic message the server sent with the last result, or NULL; free with ldap_memfree.
static inline char *iec_ldap_diagnostic(LDAP *ld) {
    char *message = NULL;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message) != LDAP_OPT_SUCCESS) return NULL;
    return message;
}

static inline int iec_ldap_result_code(LDAP *ld) {
    int code = LDAP_OTHER;
    if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code) != LDAP_OPT_SUCCESS) return LDAP_OTHER;
    return code;
}

// --- Modifications: built in C so that Swift hands over plain buffers ---------

/// An array of `count` modifications, NULL-terminated, zeroed.
static inline LDAPMod **iec_ldap_mods_new(int count) {
    LDAPMod **mods = (LDAPMod **)calloc((size_t)count + 1, sizeof(LDAPMod *));
    if (!mods) return NULL;
    for (int i = 0; i < count; i++) {
        mods[i] = (LDAPMod *)calloc(1, sizeof(LDAPMod));
        if (!mods[i]) return mods;  // iec_ldap_mods_free copes with a partial array
    }
    return mods;
}

/// Sets modification `index`: `op` (LDAP_MOD_ADD/DELETE/REPLACE), attribute `type`,
/// `valueCount` values, each copied. False on allocation failure.
static inline int iec_ldap_mod_set(LDAPMod **mods, int index, int op, const char *type, int valueCount) {
    LDAPMod *mod = mods[index];
    if (!mod) return 0;
    mod->mod_op = op | LDAP_MOD_BVALUES;
    mod->mod_type = strdup(type);
    if (!mod->mod_type) return 0;
    mod->mod_bvalues = (struct berval **)calloc((size_t)valueCount + 1, sizeof(struct berval *));
    return mod->mod_bvalues != NULL;
}

static inline int iec_ldap_mod_set_value(LDAPMod **mods, int index, int valueIndex, const char *bytes, size_t length) {
    struct berval *value = (struct berval *)calloc(1, sizeof(struct berval));
    if (!value) return 0;
    value->bv_val = (char *)malloc(length ? length : 1);
    if (!value->bv_val) { free(value); return 0; }
    if (length) memcpy(value->bv_val, bytes, length);
    value->bv_len = (ber_len_t)length;
    mods[index]->mod_bvalues[valueIndex] = value;
    return 1;
}

static inline void iec_ldap_mods_free(LDAPMod **mods, int count) {
    if (!mods) return;
    for (int i = 0; i < count; i++) {
        LDAPMod *mod = mods[i];
        if (!mod) continue;
        free(mod->mod_type);
        if (mod->mod_bvalues) {
            for (int j = 0; mod->mod_bvalues[j]; j++) {
                free(mod->mod_bvalues[j]->bv_val);
                free(mod->mod_bvalues[j]);
            }
            free(mod->mod_bvalues);
        }
        free(mod);
    }
    free(mods);
}

// --- Search results -----------------------------------------------------------

static inline const char *iec_berval_bytes(struct berval *value) { return value->bv_val; }
static inline size_t iec_berval_length(struct berval *value) { return (size_t)value->bv_len; }

/// A NULL-terminated array of `count` attribute names, each copied; or NULL for all.
static inline char **iec_ldap_strings_new(int count) { return (char **)calloc((size_t)count + 1, sizeof(char *)); }
static inline int iec_ldap_strings_set(char **strings, int index, const char *value) {
    strings[index] = strdup(value);
    return strings[index] != NULL;
}
static inline void iec_ldap_strings_free(char **strings) {
    if (!strings) return;
    for (int i = 0; strings[i]; i++) free(strings[i]);
    free(strings);
}

/// The paged results control (RFC 2696) for a page of `pageSize` continuing
/// from `cookie` (NULL/0 for the first page). Size 0 with the cookie abandons
/// the paged search (§3); libldap refuses to build that one, so it is encoded here.
static inline int iec_ldap_page_control(LDAP *ld, int pageSize, const char *cookie, size_t cookieLength, LDAPControl **control) {
    struct berval value;
    value.bv_val = (char *)cookie;
    value.bv_len = (ber_len_t)cookieLength;
    if (pageSize > 0) return ldap_create_page_control(ld, (ber_int_t)pageSize, cookie ? &value : NULL, 1, control);
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    if (!ber) return LDAP_NO_MEMORY;
    struct berval empty;
    empty.bv_val = (char *)"";
    empty.bv_len = 0;
    if (ber_printf(ber, "{iO}", (ber_int_t)0, cookie ? &value : &empty) == -1) {
        ber_free(ber, 1);
        return LDAP_ENCODING_ERROR;
    }
    struct berval encoded;
    if (ber_flatten2(ber, &encoded, 1) == -1) {
        ber_free(ber, 1);
        return LDAP_ENCODING_ERROR;
    }
    ber_free(ber, 1);
    int rc = ldap_control_create(LDAP_CONTROL_PAGEDRESULTS, 0, &encoded, 1, control);
    ber_memfree(encoded.bv_val);
    return rc;
}

/// A server-side sort control (RFC 2891) on one attribute, ascending, critical.
static inline int iec_ldap_sort_control(LDAP *ld, const char *attribute, LDAPControl **control) {
    LDAPSortKey **keys = NULL;
    int rc = ldap_create_sort_keylist(&keys, (char *)attribute);
    if (rc != LDAP_SUCCESS) return rc;
    rc = ldap_create_sort_control(ld, keys, 1, control);
    ldap_free_sort_keylist(keys);
    return rc;
}

/// Parses the result of a search: its code, and the paged-results cookie in
/// `*cookie` (malloc'd, free with ber_bvfree; NULL when there is none or it is empty).
static inline int iec_ldap_parse_search_result(LDAP *ld, LDAPMessage *result, int *code, struct berval **cookie) {
    LDAPControl **controls = NULL;
    *cookie = NULL;
    int rc = ldap_parse_result(ld, result, code, NULL, NULL, NULL, &controls, 0);
    if (rc != LDAP_SUCCESS) return rc;
    if (controls) {
        LDAPControl *page = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, controls, NULL);
        if (page) {
            ber_int_t estimate = 0;
            struct berval value = {0, NULL};
            if (ldap_parse_pageresponse_control(ld, page, &estimate, &value) == LDAP_SUCCESS) {
                if (value.bv_len > 0) {
                    *cookie = ber_bvdup(&value);
                }
                ber_memfree(value.bv_val);
            }
        }
        ldap_controls_free(controls);
    }
    return LDAP_SUCCESS;
}

#endif
