#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>

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
