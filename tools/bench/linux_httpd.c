/*
 * The Linux side of the network bench: a small static HTTP/1.1 server, single
 * threaded, non-blocking sockets under one level-triggered epoll, serving the
 * same bytes KWE's httpd serves (tools/kwecli/netbench.py drives both):
 *
 *   GET /files/1         1 KiB:  splitmix64 bytes, seed 1
 *   GET /files/2         10 MiB: splitmix64 bytes, seed 2026
 *   GET /files?q=QUERY   a fixed listing, "ID NAME\n" per file (QUERY is not interpreted)
 *
 * splitmix64: state += 0x9E3779B97F4A7C15, mixed, each 64-bit output stored
 * little-endian (netbench.file_bytes makes the same bytes).  Every file
 * answer has Content-Length and an ETag, the zlib CRC-32 of the body as 8
 * lowercase hex digits in quotes.  The CRC is computed for every request, as
 * KWE's httpd does: a precomputed ETag would not be the same delivered work.
 *
 * Bodies go out with sendmsg() from the buffer in memory: one copy into the
 * socket's buffers, as KWE copies.  sendfile() from a memfd would hand the
 * network pages by reference (no copy), a different amount of work than the
 * server being compared does, so it is not used.
 *
 * Keep-alive is the default (HTTP/1.1), "Connection: close" is honoured, and
 * pipelined requests are answered in order.  A client that goes away, even in
 * the middle of a 10 MiB body, costs only its own connection (EPIPE/ECONNRESET
 * close it; SIGPIPE is ignored and sends use MSG_NOSIGNAL).
 *
 *   linux_httpd [PORT [ADDRESS]]     default 80 on 0.0.0.0; prints "httpd: ready ..." when listening
 */
#define _GNU_SOURCE            /* accept4, memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#define IN_MAX 8192            /* a request's line and headers must fit */
#define MAX_EVENTS 64

struct file {
    const char *name;
    size_t size;
    uint64_t seed;
    unsigned char *data;
};

static struct file files[] = {
    {"small.bin", 1024, 1, NULL},
    {"large.bin", 10u << 20, 2026, NULL},
};
#define NFILES (sizeof files / sizeof files[0])

static char listing[256];
static size_t listing_len;

struct conn {
    int fd;
    int writing;               /* registered for EPOLLOUT: output pending */
    int close_after;           /* close once the pending output is out */
    size_t inlen;
    char in[IN_MAX];
    char head[256];
    size_t headlen, headoff;
    const unsigned char *body;
    size_t bodylen, bodyoff;
};

static int ep;

static void make(struct file *f) {
    uint64_t s = f->seed;
    f->data = malloc(f->size);
    if (!f->data) {
        perror("httpd: malloc");
        exit(1);
    }
    for (size_t i = 0; i < f->size; i += 8) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        for (size_t k = 0; k < 8 && i + k < f->size; k++)
            f->data[i + k] = (unsigned char)(z >> (8 * k));
    }
}

static void drop(struct conn *c) {
    close(c->fd);               /* also takes it out of the epoll set */
    free(c);
}

/* After a last answer: what the client sent and we did not read would make
 * close() reset the connection, and a reset can destroy the answer still in
 * flight; so end our side first and read away what is already here. */
static void finish(struct conn *c) {
    char sink[4096];
    shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < 16 && read(c->fd, sink, sizeof sink) > 0; i++)
        ;
    drop(c);
}

static void watch(struct conn *c, int writing) {
    if (c->writing == writing)
        return;
    struct epoll_event ev = {.events = writing ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->writing = writing;
}

/* Send what is pending: 1 all out, 0 the socket is full (wait for EPOLLOUT), -1 the peer is gone. */
static int flush(struct conn *c) {
    while (c->headoff < c->headlen || c->bodyoff < c->bodylen) {
        struct iovec iov[2];
        int n = 0;
        if (c->headoff < c->headlen)
            iov[n++] = (struct iovec){c->head + c->headoff, c->headlen - c->headoff};
        if (c->bodyoff < c->bodylen)
            iov[n++] = (struct iovec){(void *)(c->body + c->bodyoff), c->bodylen - c->bodyoff};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        size_t h = c->headlen - c->headoff;
        if ((size_t)w < h) {
            c->headoff += w;
        } else {
            c->headoff = c->headlen;
            c->bodyoff += w - h;
        }
    }
    return 1;
}

static void respond(struct conn *c, const char *status, const char *type, const unsigned char *body,
                    size_t len, int etag) {
    char tag[32] = "";
    if (etag)   /* per request, on purpose: see the top of the file */
        snprintf(tag, sizeof tag, "ETag: \"%08lx\"\r\n", (unsigned long)crc32_z(0, body, len));
    c->headlen = (size_t)snprintf(c->head, sizeof c->head,
                                  "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                                  status, type, len, tag, c->close_after ? "Connection: close\r\n" : "");
    c->headoff = 0;
    c->body = body;
    c->bodylen = len;
    c->bodyoff = 0;
}

static void error(struct conn *c, const char *status) {
    c->close_after = 1;
    respond(c, status, "text/plain", (const unsigned char *)status, strlen(status), 0);
}

/* Does the header block (NUL-terminated, starting after the request line) ask to close? */
static int asks_close(const char *h) {
    for (const char *p = h; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (strncasecmp(p, "connection:", 11) == 0) {
            const char *v = p + 11;
            while (*v == ' ' || *v == '\t')
                v++;
            return strncasecmp(v, "close", 5) == 0;
        }
    }
    return 0;
}

/* The request in c->in[0..end) (headers and the blank line): set up its answer. */
static void request(struct conn *c, size_t end) {
    char *req = c->in;
    req[end - 1] = '\0';                        /* the last \n of the blank line */
    char *sp1 = strchr(req, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *eol = strchr(req, '\n');
    if (!sp1 || !sp2 || !eol || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return error(c, "400 Bad Request");
    c->close_after = asks_close(eol) || strncmp(sp2 + 1, "HTTP/1.0", 8) == 0;
    if (sp1 - req != 3 || memcmp(req, "GET", 3) != 0)
        return error(c, "405 Method Not Allowed");
    *sp2 = '\0';
    const char *path = sp1 + 1;
    if (strncmp(path, "/files?q=", 9) == 0)
        return respond(c, "200 OK", "text/plain", (const unsigned char *)listing, listing_len, 0);
    if (strncmp(path, "/files/", 7) == 0) {
        char *stop;
        unsigned long id = strtoul(path + 7, &stop, 10);
        if (stop != path + 7 && *stop == '\0' && id >= 1 && id <= NFILES) {
            struct file *f = &files[id - 1];
            return respond(c, "200 OK", "application/octet-stream", f->data, f->size, 1);
        }
    }
    respond(c, "404 Not Found", "text/plain", (const unsigned char *)"404 Not Found", 13, 0);
}

/* Answer the complete requests in the input, in order, while the socket takes the answers. */
static void serve(struct conn *c) {
    for (;;) {
        int r = flush(c);
        if (r < 0)
            return drop(c);
        if (r == 0)
            return watch(c, 1);
        if (c->close_after)
            return finish(c);
        char *end = c->inlen ? memmem(c->in, c->inlen, "\r\n\r\n", 4) : NULL;
        if (!end) {
            if (c->inlen == IN_MAX) {           /* headers larger than we take */
                c->inlen = 0;
                error(c, "431 Request Header Fields Too Large");
                continue;
            }
            return watch(c, 0);
        }
        size_t used = (size_t)(end - c->in) + 4;
        request(c, used);
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
    }
}

static void readable(struct conn *c) {
    ssize_t n = read(c->fd, c->in + c->inlen, IN_MAX - c->inlen);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return drop(c);
    if (n > 0) {
        c->inlen += (size_t)n;
        serve(c);
    }
}

static void accept_all(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;                             /* EAGAIN, or out of descriptors: try on the next event */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            drop(c);
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 80;
    const char *addr = argc > 2 ? argv[2] : "0.0.0.0";
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < NFILES; i++) {
        make(&files[i]);
        listing_len += (size_t)snprintf(listing + listing_len, sizeof listing - listing_len, "%zu %s\n",
                                        i + 1, files[i].name);
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (lfd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0) {
        perror("httpd: listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    printf("httpd: ready on %s:%d\n", addr, port);
    fflush(stdout);
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL)
                accept_all(lfd);
            else if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN))
                drop(c);
            else if (c->writing)
                serve(c);
            else
                readable(c);
        }
    }
}
