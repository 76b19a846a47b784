#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#include <stdlib.h>
#include <string.h>

// The server's notices on one connection, kept in arrival order until Swift takes them: libpq
// calls the receiver from inside its own calls, where no Swift code runs; the connection hands
// them to its handler once the libpq call has returned.
typedef struct pl_notice {
    char *severity;
    char *code;
    char *message;
    struct pl_notice *next;
} pl_notice;

typedef struct pl_notices {
    pl_notice *head;
    pl_notice *tail;
} pl_notices;

static inline char *pl_copy_field(const PGresult *result, int field) {
    const char *value = PQresultErrorField(result, field);
    return value ? strdup(value) : NULL;
}

static void pl_notice_receiver(void *argument, const PGresult *result) {
    pl_notices *notices = (pl_notices *)argument;
    pl_notice *notice = (pl_notice *)calloc(1, sizeof(pl_notice));
    if (!notice) return;
    notice->severity = pl_copy_field(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (!notice->severity) notice->severity = pl_copy_field(result, PG_DIAG_SEVERITY);
    notice->code = pl_copy_field(result, PG_DIAG_SQLSTATE);
    notice->message = pl_copy_field(result, PG_DIAG_MESSAGE_PRIMARY);
    if (notices->tail) notices->tail->next = notice; else notices->head = notice;
    notices->tail = notice;
}

/// Keeps `connection`'s notices in `notices` (which must outlive the connection's PQfinish).
static inline void pl_keep_notices(PGconn *connection, pl_notices *notices) {
    PQsetNoticeReceiver(connection, pl_notice_receiver, notices);
}

/// The oldest notice kept, taken off the list (the caller frees it with pl_free_notice), or NULL.
static inline pl_notice *pl_take_notice(pl_notices *notices) {
    pl_notice *notice = notices->head;
    if (notice) {
        notices->head = notice->next;
        if (!notices->head) notices->tail = NULL;
    }
    return notice;
}

static inline void pl_free_notice(pl_notice *notice) {
    free(notice->severity);
    free(notice->code);
    free(notice->message);
    free(notice);
}

#ifdef __linux__
// Readiness of connection sockets, for PostgresPool's one-round-trip path: a connection waiting
// for its answer is armed once (EPOLLONESHOT) and one thread waits on them all. Written in C
// because `struct epoll_event` is packed, which Swift does not import faithfully.
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/// Arms `fd` for one readable event; adds it to the set when it is not there yet (a new
/// connection, or a new socket that reuses a closed one's number). 0 on success, -1 with errno.
static inline int pl_epoll_arm(int epfd, int fd) {
    struct epoll_event event = { .events = EPOLLIN | EPOLLONESHOT, .data = { .fd = fd } };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    if (errno != ENOENT) return -1;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/// Creates an eventfd that wakes the waiting thread, watched by `epfd` for good (level-triggered).
/// Returns its descriptor, or -1 with errno.
static inline int pl_epoll_add_wakeup(int epfd) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return -1;
    struct epoll_event event = { .events = EPOLLIN, .data = { .fd = fd } };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) != 0) { close(fd); return -1; }
    return fd;
}

static inline void pl_wakeup_signal(int fd) {
    uint64_t one = 1;
    (void)!write(fd, &one, sizeof one);
}

static inline void pl_wakeup_reset(int fd) {
    uint64_t count;
    (void)!read(fd, &count, sizeof count);
}

/// Waits up to `timeout_ms` (-1: no limit) for readable descriptors and writes them to `fds`
/// (at most 64). Returns how many, or -1 with errno.
static inline int pl_epoll_wait(int epfd, int *fds, int capacity, int timeout_ms) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, events, capacity, timeout_ms);
    for (int i = 0; i < count; i++) fds[i] = events[i].data.fd;
    return count;
}
#endif
#endif
