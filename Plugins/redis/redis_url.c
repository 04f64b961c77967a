/* The `url` config key. Messages never quote the url: it may carry a password. */
#include "redis_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMS "redis://[[user]:password@]host[:port][/db] or unix://[[user]:password@]/path[?db=N]"

static int32_t invalid(pc_errbuf err, const char *what) {
    pc_errf(err, "config key 'url': %s (expected " FORMS ")", what);
    return PC_ERR_INVALID;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A malloc'd, percent-decoded copy of [begin, end); NULL with *bad set on a bad
 * escape or an encoded NUL, NULL with *bad clear when out of memory. */
static char *decode(const char *begin, const char *end, int *bad) {
    char *out = malloc((size_t)(end - begin) + 1);
    size_t n = 0;
    *bad = 0;
    if (!out) return NULL;
    for (const char *p = begin; p < end; p++) {
        if (*p != '%') { out[n++] = *p; continue; }
        int high = end - p > 2 ? hex_value(p[1]) : -1;
        int low = end - p > 2 ? hex_value(p[2]) : -1;
        if (high < 0 || low < 0 || (high == 0 && low == 0)) { free(out); *bad = 1; return NULL; }
        out[n++] = (char)(high * 16 + low);
        p += 2;
    }
    out[n] = '\0';
    return out;
}

static char *copy_range(const char *begin, const char *end) {
    char *out = malloc((size_t)(end - begin) + 1);
    if (!out) return NULL;
    memcpy(out, begin, (size_t)(end - begin));
    out[end - begin] = '\0';
    return out;
}

/* Parses a decimal in [min, max] from [begin, end); 0 when it is not one. */
static int parse_number(const char *begin, const char *end, int64_t min, int64_t max, int64_t *out) {
    int64_t value = 0;
    if (begin == end || end - begin > 10) return 0;
    for (const char *p = begin; p < end; p++) {
        if (*p < '0' || *p > '9') return 0;
        value = value * 10 + (*p - '0');
    }
    if (value < min || value > max) return 0;
    *out = value;
    return 1;
}

/* "user:password" or ":password"; a lone word is refused as ambiguous. */
static int32_t parse_userinfo(const char *begin, const char *end, redis_target *out, pc_errbuf err) {
    const char *colon = memchr(begin, ':', (size_t)(end - begin));
    int bad = 0;
    if (!colon) return invalid(err, "the part before '@' must be ':password' or 'user:password'");
    if (colon > begin) {
        out->user = decode(begin, colon, &bad);
        if (!out->user) return bad ? invalid(err, "bad %-escape in the user name") : PC_ERR_INTERNAL;
    }
    out->password = decode(colon + 1, end, &bad);
    if (!out->password) return bad ? invalid(err, "bad %-escape in the password") : PC_ERR_INTERNAL;
    if (out->password[0] == '\0') return invalid(err, "empty password");
    return PC_OK;
}

/* host[:port][/db] */
static int32_t parse_tcp(const char *p, const char *end, redis_target *out, pc_errbuf err) {
    const char *host_begin = p, *host_end;
    int64_t number = 6379;
    if (*p == '[') {
        host_begin = p + 1;
        host_end = memchr(host_begin, ']', (size_t)(end - host_begin));
        if (!host_end) return invalid(err, "unterminated '[' in the host");
        p = host_end + 1;
    } else {
        while (p < end && *p != ':' && *p != '/') p++;
        host_end = p;
    }
    if (host_end == host_begin) return invalid(err, "missing host");
    for (const char *c = host_begin; c < host_end; c++) {
        if (*c == '?' || *c == '#' || *c == '@' || *c == ' ') return invalid(err, "bad character in the host");
    }
    if (p < end && *p == ':') {
        const char *port = ++p;
        while (p < end && *p != '/') p++;
        if (!parse_number(port, p, 1, 65535, &number)) return invalid(err, "the port must be a number from 1 to 65535");
    }
    out->port = (int)number;
    if (p < end && *p == '/') {
        p++;
        if (p < end && !parse_number(p, end, 0, 2147483647, &out->db))
            return invalid(err, "the database after '/' must be a number");
    } else if (p != end) {
        return invalid(err, "text after the host");
    }
    if (!(out->host = copy_range(host_begin, host_end))) return PC_ERR_INTERNAL;
    snprintf(out->where, sizeof out->where, memchr(out->host, ':', strlen(out->host)) ? "[%s]:%d" : "%s:%d",
             out->host, out->port);
    return PC_OK;
}

/* /path[?db=N] */
static int32_t parse_unix(const char *p, const char *end, redis_target *out, pc_errbuf err) {
    const char *query = memchr(p, '?', (size_t)(end - p));
    const char *path_end = query ? query : end;
    if (p == path_end || *p != '/') return invalid(err, "a unix socket path must be absolute");
    if (query) {
        if (end - query < 4 || memcmp(query, "?db=", 4) != 0) return invalid(err, "the only query parameter is db");
        if (!parse_number(query + 4, end, 0, 2147483647, &out->db)) return invalid(err, "db must be a number");
    }
    out->is_unix = 1;
    if (!(out->path = copy_range(p, path_end))) return PC_ERR_INTERNAL;
    snprintf(out->where, sizeof out->where, "%s", out->path);
    return PC_OK;
}

int32_t redis_target_parse(const char *url, redis_target *out, pc_errbuf err) {
    const char *end = url + strlen(url);
    int32_t status;
    memset(out, 0, sizeof *out);
    if (strncmp(url, "rediss://", 9) == 0) return invalid(err, "TLS (rediss://) is not supported");
    int is_unix = strncmp(url, "unix://", 7) == 0;
    if (!is_unix && strncmp(url, "redis://", 8) != 0) return invalid(err, "unknown scheme");
    const char *rest = url + (is_unix ? 7 : 8);
    /* The last '@' ends the user info, so a password may hold '@', ':' or '/'
     * unescaped; a unix path starts right after it. */
    const char *at = NULL;
    for (const char *p = rest; p < end; p++) {
        if (*p == '@' && (!is_unix || (p + 1 < end && p[1] == '/'))) at = p;
    }
    if (at) {
        status = parse_userinfo(rest, at, out, err);
        rest = at + 1;
    } else {
        status = PC_OK;
    }
    if (status == PC_OK) status = is_unix ? parse_unix(rest, end, out, err) : parse_tcp(rest, end, out, err);
    if (status == PC_ERR_INTERNAL) pc_errf(err, "out of memory");
    if (status != PC_OK) redis_target_clear(out);
    return status;
}

void redis_target_clear(redis_target *target) {
    if (target->password) {
        /* volatile so the wipe is not optimised away before free. */
        volatile char *p = target->password;
        while (*p) *p++ = '\0';
    }
    free(target->password);
    free(target->user);
    free(target->host);
    free(target->path);
    memset(target, 0, sizeof *target);
}
