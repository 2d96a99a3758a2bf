#ifndef IEC_CZMQ_SHIM_H
#define IEC_CZMQ_SHIM_H

/* libzmq for the Messaging module (its only importer). Everything here is a
 * static inline wrapper for C that is awkward from Swift: void* option values,
 * errno constants defined as expressions, host-endian monitor events, sockaddr. */

#include <zmq.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* libzmq's own errno values (ZMQ_HAUSNUMERO + n), as plain constants. */
static const int IEC_ZMQ_ETERM = ETERM;
static const int IEC_ZMQ_EFSM = EFSM;
static const int IEC_ZMQ_EMTHREAD = EMTHREAD;
static const int IEC_ZMQ_ENOCOMPATPROTO = ENOCOMPATPROTO;
static const int IEC_ZMQ_EHOSTUNREACH = EHOSTUNREACH;

static inline int iec_zmq_setsockopt_int(void *socket, int option, int value) {
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

static inline int iec_zmq_setsockopt_int64(void *socket, int option, int64_t value) {
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

static inline int iec_zmq_setsockopt_bytes(void *socket, int option, const void *bytes, size_t count) {
    return zmq_setsockopt(socket, option, bytes, count);
}

/* A string option (ZMQ_LAST_ENDPOINT) into `buffer`; `*count` in: capacity, out: length with the NUL. */
static inline int iec_zmq_getsockopt_string(void *socket, int option, char *buffer, size_t *count) {
    return zmq_getsockopt(socket, option, buffer, count);
}

/* The first frame of a socket-monitor event: a host-endian uint16 event and uint32 value. */
static inline int iec_zmq_monitor_event(const void *bytes, size_t count, uint16_t *event, uint32_t *value) {
    if (count != 6) return -1;
    memcpy(event, bytes, sizeof *event);
    memcpy(value, (const char *)bytes + 2, sizeof *value);
    return 0;
}

/* A non-blocking, close-on-exec eventfd: the outbound queue's wake-up signal. */
static inline int iec_eventfd_open(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static inline int iec_eventfd_signal(int fd) {
    eventfd_t one = 1;
    return eventfd_write(fd, one);
}

/* Resets the counter; 0, or -1 with errno EAGAIN when it was already zero. */
static inline int iec_eventfd_reset(int fd) {
    eventfd_t value;
    return eventfd_read(fd, &value);
}

/* Names the calling thread (as `ps -L` and debuggers show it; 15 bytes at most). */
static inline void iec_thread_set_name(const char *name) {
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

static inline int iec_fd_close(int fd) {
    return close(fd);
}

/* The numeric address of a connected TCP socket's peer; 0 on success. */
static inline int iec_peer_address(int fd, char *buffer, size_t capacity) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getpeername(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    if (address.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
        return inet_ntop(AF_INET, &v4->sin_addr, buffer, (socklen_t)capacity) ? 0 : -1;
    }
    if (address.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
        return inet_ntop(AF_INET6, &v6->sin6_addr, buffer, (socklen_t)capacity) ? 0 : -1;
    }
    errno = EAFNOSUPPORT;
    return -1;
}

/* `text` as an IP literal written the canonical way (inet_ntop), IPv4-mapped
 * IPv6 addresses as plain IPv4; 0 on success, -1 when it is no IP literal. */
static inline int iec_normalize_ip(const char *text, char *buffer, size_t capacity) {
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        return inet_ntop(AF_INET, &v4, buffer, (socklen_t)capacity) ? 0 : -1;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            memcpy(&v4, &v6.s6_addr[12], 4);
            return inet_ntop(AF_INET, &v4, buffer, (socklen_t)capacity) ? 0 : -1;
        }
        return inet_ntop(AF_INET6, &v6, buffer, (socklen_t)capacity) ? 0 : -1;
    }
    return -1;
}

#endif
