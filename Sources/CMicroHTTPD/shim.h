/* CMicroHTTPD shim: typed wrappers for libmicrohttpd's variadic and macro API (STYLE habit 2).
 *
 * MHD_start_daemon, MHD_get_daemon_info and MHD_get_connection_info are
 * variadic and cannot be called from Swift; MHD's log callback takes a
 * va_list. Each wrapper below fixes the types for one use. Only the
 * HTTPServer module imports this header.
 */
#ifndef IEC_CMICROHTTPD_SHIM_H
#define IEC_CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

/* ---------------------------------------------------------------- logging */

/* Receives one formatted libmicrohttpd message (no trailing newline). */
typedef void (*iec_mhd_log_fn)(void *context, const char *message);

/* What MHD_OPTION_EXTERNAL_LOGGER is given; owned by the caller, who keeps it
 * alive until MHD_stop_daemon has returned. */
struct iec_mhd_logger {
    iec_mhd_log_fn function;
    void *context;
};

/* MHD_LogCallback: formats the message and hands it to the Swift side. */
static inline void iec_mhd_log_trampoline(void *cls, const char *format, va_list arguments) {
    struct iec_mhd_logger *logger = (struct iec_mhd_logger *)cls;
    char buffer[512];
    int length = vsnprintf(buffer, sizeof buffer, format, arguments);
    if (length < 0) {
        return;
    }
    size_t end = strlen(buffer);
    while (end > 0 && (buffer[end - 1] == '\n' || buffer[end - 1] == '\r')) {
        buffer[--end] = '\0';
    }
    if (logger != NULL && logger->function != NULL) {
        logger->function(logger->context, buffer);
    }
}

/* ---------------------------------------------------------------- daemon */

/* The URI callback (MHD_OPTION_URI_LOG_CALLBACK): sees the request target as
 * sent, before MHD splits off and decodes the query; its result becomes the
 * request's `*con_cls`. */
typedef void *(*iec_mhd_uri_fn)(void *cls, const char *uri, struct MHD_Connection *connection);

/* Everything iec_mhd_start_daemon needs. Strings are only read during the call
 * except `tls_key` and `tls_certificate`, which the caller keeps alive (and
 * unchanged) until MHD_stop_daemon has returned. */
struct iec_mhd_daemon_options {
    const char *host;              /* IPv4 or IPv6 literal to bind */
    uint16_t port;                 /* 0: the kernel picks one */
    unsigned int thread_pool_size; /* 1: a single polling thread */
    unsigned int connection_limit;
    unsigned int connection_timeout; /* seconds idle; 0: none */
    size_t connection_memory_limit;  /* per-connection pool: request line + headers + buffers */
    const char *tls_key;             /* PEM, or NULL for plain HTTP */
    const char *tls_certificate;     /* PEM, or NULL for plain HTTP */
    MHD_AccessHandlerCallback handler;
    MHD_RequestCompletedCallback completed;
    iec_mhd_uri_fn uri;
    void *context; /* passed to handler, completed and uri */
    struct iec_mhd_logger *logger;
};

/* iec_mhd_start_daemon's failure reasons besides MHD's own (reported through the logger). */
enum {
    IEC_MHD_START_OK = 0,
    IEC_MHD_START_BAD_HOST = 1,     /* `host` is not an IPv4 or IPv6 literal */
    IEC_MHD_START_NO_TLS = 2,       /* this libmicrohttpd was built without TLS */
    IEC_MHD_START_FAILED = 3        /* MHD_start_daemon returned NULL: see the log messages */
};

/* Starts an epoll daemon with its own polling thread(s) bound to `host`:`port`.
 * Returns NULL and sets `*failure` when it cannot. */
static inline struct MHD_Daemon *iec_mhd_start_daemon(const struct iec_mhd_daemon_options *options, int *failure) {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr *address;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, options->host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(options->port);
        address = (struct sockaddr *)&v4;
    } else if (inet_pton(AF_INET6, options->host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(options->port);
        address = (struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    } else {
        *failure = IEC_MHD_START_BAD_HOST;
        return NULL;
    }
    if (options->tls_key != NULL || options->tls_certificate != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            *failure = IEC_MHD_START_NO_TLS;
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }

    struct MHD_OptionItem items[16];
    int count = 0;
    /* The logger comes first, so that start-up messages reach it too. */
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)iec_mhd_log_trampoline, options->logger };
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, address };
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)options->connection_limit, NULL };
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)options->connection_timeout, NULL };
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)options->connection_memory_limit, NULL };
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)options->completed, options->context };
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)options->uri, options->context };
    if (options->thread_pool_size > 1) {
        items[count++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)options->thread_pool_size, NULL };
    }
    if (flags & MHD_USE_TLS) {
        items[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)options->tls_key };
        items[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)options->tls_certificate };
    }
    items[count++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

    struct MHD_Daemon *daemon = MHD_start_daemon(flags, options->port, NULL, NULL,
                                                 options->handler, options->context,
                                                 MHD_OPTION_ARRAY, items,
                                                 MHD_OPTION_END);
    *failure = daemon == NULL ? IEC_MHD_START_FAILED : IEC_MHD_START_OK;
    return daemon;
}

/* The port the daemon listens on (the real one when 0 was asked for); 0 if unknown. */
static inline uint16_t iec_mhd_daemon_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/* After MHD_quiesce_daemon: makes the (still open) listening socket refuse new
 * connections at once instead of letting them queue in the backlog. The socket
 * is closed with iec_mhd_close_socket only after MHD_stop_daemon. */
static inline int iec_mhd_shutdown_listen_socket(MHD_socket socket) {
    return shutdown(socket, SHUT_RDWR);
}

static inline int iec_mhd_close_socket(MHD_socket socket) {
    return close(socket);
}

/* Whether a TCP listener could be bound to `host`:`port` right now; returns 0
 * if so, else the errno of bind (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...).
 * Used only to explain why MHD_start_daemon failed. */
static inline int iec_mhd_probe_bind(const char *host, uint16_t port) {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr *address;
    socklen_t length;
    int family;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        address = (struct sockaddr *)&v4;
        length = sizeof v4;
        family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        address = (struct sockaddr *)&v6;
        length = sizeof v6;
        family = AF_INET6;
    } else {
        return EINVAL;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    int result = bind(fd, address, length) == 0 ? 0 : errno;
    close(fd);
    return result;
}

/* ---------------------------------------------------------------- connections */

/* Writes the client's IP address as text into `buffer` (at least 64 bytes);
 * returns its length, or 0 when unknown. */
static inline size_t iec_mhd_client_address(struct MHD_Connection *connection, char *buffer, size_t size) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL || size == 0) {
        return 0;
    }
    const char *text = NULL;
    if (info->client_addr->sa_family == AF_INET) {
        text = inet_ntop(AF_INET, &((const struct sockaddr_in *)info->client_addr)->sin_addr, buffer, (socklen_t)size);
    } else if (info->client_addr->sa_family == AF_INET6) {
        text = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)info->client_addr)->sin6_addr, buffer, (socklen_t)size);
    }
    return text == NULL ? 0 : strlen(buffer);
}

/* The size of the request line and header fields as received; 0 if unknown. */
static inline size_t iec_mhd_request_header_size(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    return info == NULL ? 0 : info->header_size;
}

/* ---------------------------------------------------------------- responses */

/* A response whose body is copied from `data` (which may be freed on return). */
static inline struct MHD_Response *iec_mhd_response_copying(const void *data, size_t size) {
    static const char empty = 0;
    return MHD_create_response_from_buffer(size, (void *)(size == 0 ? &empty : data), MHD_RESPMEM_MUST_COPY);
}

#endif
