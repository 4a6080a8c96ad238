/*
 * LD_PRELOAD shim for sipp 3.6 (Debian's sip-tester): drops "algorithm=SHA-256" digest
 * challenges (WWW-Authenticate / Proxy-Authenticate lines) from received UDP messages.
 *
 * Why: Centrala offers two challenges, SHA-256 first and MD5 last (RFC 8760). sipp 3.6
 * knows only MD5 and answers the *first* challenge, so it fails with "createAuthHeader:
 * authentication must use MD5 or AKAv1-MD5". With this shim sipp behaves like an MD5-only
 * RFC 8760 client that skips challenges it cannot answer. Kamailio sends a single MD5
 * challenge, so for it the shim changes nothing. Cost: one scan of the header block per
 * datagram, in sipp's process only (the servers are not touched).
 *
 * Build: gcc -O2 -shared -fPIC -o md5only.so md5only.c -ldl
 * Use:   LD_PRELOAD=/path/md5only.so sipp ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

static ssize_t strip_sha256_challenges(char *buf, ssize_t n)
{
    if (n <= 0) {
        return n;
    }
    char *end = memmem(buf, (size_t)n, "\r\n\r\n", 4);
    char *hend = end ? end + 2 : buf + n; /* just past the last header line's CRLF */
    char *p = buf;
    while (p < hend) {
        char *eol = memmem(p, (size_t)(hend - p), "\r\n", 2);
        if (!eol) {
            break;
        }
        size_t linelen = (size_t)(eol + 2 - p);
        int is_challenge = (linelen > 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0) ||
                           (linelen > 19 && strncasecmp(p, "Proxy-Authenticate:", 19) == 0);
        if (is_challenge && memmem(p, linelen, "algorithm=SHA-256", 17)) {
            memmove(p, eol + 2, (size_t)(buf + n - (eol + 2)));
            n -= (ssize_t)linelen;
            hend -= linelen;
            continue;
        }
        p = eol + 2;
    }
    return n;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen)
{
    static ssize_t (*real)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    if (!real) {
        real = (ssize_t (*)(int, void *, size_t, int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "recvfrom");
    }
    ssize_t n = real(fd, buf, len, flags, addr, alen);
    return strip_sha256_challenges((char *)buf, n);
}
