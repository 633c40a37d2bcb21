/*
 * LD_PRELOAD shim: sets TCP_NODELAY on every accepted connection.
 *
 * Neither peer server (s3s-fs, Garage) sets TCP_NODELAY, so its small responses wait for the
 * client's delayed ACK (~40 ms) and a 4 KiB GET benchmark would measure Nagle's algorithm, not
 * the server. lagoa-bench compiles this with the system C compiler and preloads it into the
 * peers, so that Lagoa (which sets TCP_NODELAY itself) is compared with them on equal terms.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int set_nodelay(int fd) {
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on non-TCP */
    }
    return fd;
}

int accept(int sock, struct sockaddr *addr, socklen_t *len) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    return set_nodelay(real(sock, addr, len));
}

int accept4(int sock, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    return set_nodelay(real(sock, addr, len, flags));
}
