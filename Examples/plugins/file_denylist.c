/*
 * file_denylist.c — an example Portcullis blocklist plugin: a denylist kept in a
 * plain text file that operators can edit by hand.
 *
 * It uses nothing but portcullis_plugin.h, the C99 standard library and POSIX, so
 * it can be the starting point of your own plugin. Build it with:
 *
 *     cc -std=c99 -pedantic -Wall -Wextra -Werror -shared -fPIC \
 *        -I<folder of portcullis_plugin.h> -o libfile_denylist.so file_denylist.c
 *
 * and use it in gateway.yaml:
 *
 *     blocklist:
 *       plugin: /path/to/libfile_denylist.so
 *       config: { path: denylist.txt }     # relative to the folder of gateway.yaml
 *
 * The file holds one entry per line:
 *
 *     # comments and blank lines are ignored; spaces around an entry are trimmed
 *     3f2b9c0e-1d7a-4c55-9d0e-2a8f3c1b7e44      a revoked jti
 *     sub:alice                                 every token of subject "alice"
 *     sub:bob 1767225600                        bob's tokens issued at or before that Unix second
 *
 * A missing file is an empty denylist. The plugin notices edits by itself: at most
 * once per second, the thread making a check looks at the file's size, modification
 * time and inode, and reloads the file when one of them changed. revoke() and
 * revoke_subject() append a line, so /logout and `portcullis revoke` work too. A
 * text file has no expiry: lines stay until someone deletes them.
 *
 * Capabilities: PC_CAP_THREADSAFE (checks run in parallel, see "Threads" below) and
 * PC_CAP_SUBJECT (the sub: lines). Not PC_CAP_NONBLOCKING: a check may read the
 * file, which is I/O, so the host must call us on its worker threads, never on an
 * event loop. Not PC_CAP_BATCH: the host then calls is_revoked() once per token.
 *
 * Threads: a loaded file is an immutable "snapshot" (sorted arrays). The instance
 * holds the current one; a check takes a reference to it under `lock`, held for a
 * few instructions, searches it without any lock, then drops the reference. A
 * reload builds a new snapshot and swaps it in; checks that started on the old one
 * finish on it, and whoever drops its last reference frees it. `file_lock`
 * serializes our own reads and appends of the file, so a reload never sees half
 * of a line we are appending and two reloads never swap in out of order.
 * Lock order: file_lock before lock.
 *
 * Ownership: every pc_str, pc_token and pc_errbuf the host passes is borrowed for
 * the call (pc_str is not NUL-terminated: always use ptr and len). The instance
 * and everything it points to are ours and freed in destroy(). The pc_host_api is
 * the host's and stays valid until destroy() returns.
 */
#define _POSIX_C_SOURCE 200809L /* stat's st_mtim, clock_gettime, pthreads */

#include "portcullis_plugin.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Longest jti or subject revoke() writes: keeps lines sane and fits printf's int. */
#define MAX_VALUE 4096

/* One line of the file. `text` points into the snapshot's copy of the file. */
typedef struct entry {
    const char *text;
    size_t len;
    int64_t at; /* sub: lines: tokens issued at or before `at`; INT64_MAX: all of them */
} entry;

/* What identifies one version of the file. exists == 0: there is no file. */
typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

/* An immutable view of the file, shared by the instance and the checks using it. */
typedef struct snapshot {
    unsigned refs;          /* guarded by pc_instance.lock */
    file_id id;             /* the version of the file it was read from */
    char *data;             /* the file's bytes, owned; entries point into it */
    entry *jtis, *subjects; /* owned, sorted by compare_entries; one entry per subject */
    size_t jti_count, subject_count;
} snapshot;

struct pc_instance {
    const pc_host_api *host;   /* the host's, valid until destroy() returns */
    char *path;                /* owned, NUL-terminated */
    pthread_mutex_t file_lock; /* serializes our reads, reloads and appends of the file */
    pthread_mutex_t lock;      /* guards current, every snapshot's refs, checked_at */
    snapshot *current;         /* never NULL; the instance holds one reference */
    time_t checked_at;         /* monotonic second of the last look at the file; -1: look now */
};

/* --- Messages ------------------------------------------------------------------ */

/* err.buf belongs to the host and is valid during the call; vsnprintf truncates to
 * cap - 1 bytes and always NUL-terminates. Never put a token in a message. */
static void set_error(pc_errbuf err, const char *format, ...) {
    va_list args;
    if (!err.buf || err.cap == 0) return;
    va_start(args, format);
    vsnprintf(err.buf, err.cap, format, args);
    va_end(args);
}

/* Writes one line through the host's logger; the host only borrows `line`. */
static void log_line(const pc_host_api *host, int32_t level, const char *format, ...) {
    char line[512];
    va_list args;
    int n;
    if (!host || !host->log) return;
    if (host->log_enabled && !host->log_enabled(host->host_ctx, level)) return;
    va_start(args, format);
    n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n < 0) return;
    host->log(host->host_ctx, level, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* --- Reading the config JSON -------------------------------------------------------- */

/* create() gets a JSON object such as {"path":"denylist.txt","config_dir":"/etc/gw"}.
 * We accept only string values for our two keys; anything else is an error. */
typedef struct reader {
    const char *p, *end;
} reader;

static void skip_space(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int hex4(reader *r, unsigned long *out) {
    int i;
    *out = 0;
    if (r->end - r->p < 4) return 0;
    for (i = 0; i < 4; i++) {
        char c = *r->p++;
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0) return 0;
        *out = *out * 16 + (unsigned long)digit;
    }
    return 1;
}

/* Reads a JSON string at r->p (the opening quote) into a new NUL-terminated UTF-8
 * string the caller frees. 0 when malformed or out of memory. */
static int read_string(reader *r, char **out) {
    /* The decoded string is never longer than its escaped form. */
    char *s = malloc((size_t)(r->end - r->p) + 1);
    size_t n = 0;
    if (!s || r->p >= r->end || *r->p != '"') { free(s); return 0; }
    r->p++;
    while (r->p < r->end && *r->p != '"') {
        unsigned long cp;
        char c = *r->p++;
        if ((unsigned char)c < 0x20) break;
        if (c != '\\') { s[n++] = c; continue; }
        if (r->p >= r->end) break;
        c = *r->p++;
        switch (c) {
        case '"': case '\\': case '/': s[n++] = c; continue;
        case 'b': s[n++] = '\b'; continue;
        case 'f': s[n++] = '\f'; continue;
        case 'n': s[n++] = '\n'; continue;
        case 'r': s[n++] = '\r'; continue;
        case 't': s[n++] = '\t'; continue;
        case 'u': break;
        default: free(s); return 0;
        }
        if (!hex4(r, &cp) || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) { free(s); return 0; }
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair: \uD83D\uDE00 */
            unsigned long low;
            if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') { free(s); return 0; }
            r->p += 2;
            if (!hex4(r, &low) || low < 0xDC00 || low > 0xDFFF) { free(s); return 0; }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (cp < 0x80) {
            s[n++] = (char)cp;
        } else if (cp < 0x800) {
            s[n++] = (char)(0xC0 | (cp >> 6));
            s[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s[n++] = (char)(0xE0 | (cp >> 12));
            s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            s[n++] = (char)(0xF0 | (cp >> 18));
            s[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    if (r->p >= r->end || *r->p != '"') { free(s); return 0; }
    r->p++;
    s[n] = '\0';
    *out = s;
    return 1;
}

/* Fills *path and *config_dir (malloc'd, or left NULL when absent). */
static int32_t parse_config(pc_str json, char **path, char **config_dir, pc_errbuf err) {
    const char *start = json.ptr ? json.ptr : "";
    reader r;
    r.p = start;
    r.end = start + (json.ptr ? json.len : 0);
    skip_space(&r);
    if (r.p >= r.end || *r.p++ != '{') goto malformed;
    skip_space(&r);
    if (r.p < r.end && *r.p == '}') { r.p++; goto trailing; }
    for (;;) {
        char *key = NULL, **slot;
        skip_space(&r);
        if (!read_string(&r, &key)) goto malformed;
        slot = strcmp(key, "path") == 0 ? path : strcmp(key, "config_dir") == 0 ? config_dir : NULL;
        if (!slot || *slot) {
            set_error(err, slot ? "file_denylist: duplicate config key '%s'"
                                : "file_denylist: unknown config key '%s' (expected path)", key);
            free(key);
            return PC_ERR_INVALID; /* the config is wrong: the host reports it and does not start */
        }
        skip_space(&r);
        if (r.p >= r.end || *r.p++ != ':') { free(key); goto malformed; }
        skip_space(&r);
        if (r.p >= r.end || *r.p != '"') {
            set_error(err, "file_denylist: config key '%s' must be a string", key);
            free(key);
            return PC_ERR_INVALID;
        }
        free(key);
        if (!read_string(&r, slot)) goto malformed;
        skip_space(&r);
        if (r.p < r.end && *r.p == ',') { r.p++; continue; }
        if (r.p < r.end && *r.p == '}') { r.p++; break; }
        goto malformed;
    }
trailing:
    skip_space(&r);
    if (r.p == r.end) return PC_OK;
malformed:
    set_error(err, "file_denylist: malformed config JSON near offset %lu", (unsigned long)(r.p - start));
    return PC_ERR_INVALID;
}

/* --- Loading the file ----------------------------------------------------------- */

/* Byte order, then length: any consistent order works for sorting and bsearch. */
static int compare_entries(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int order = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);
    if (order != 0) return order;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static void free_snapshot(snapshot *snap) {
    if (!snap) return;
    free(snap->data);
    free(snap->jtis);
    free(snap->subjects);
    free(snap);
}

/* "bob 1767225600": the subject and its time. Without a time: INT64_MAX (all). */
static void parse_subject(entry *e) {
    const char *space = NULL, *p;
    char *end;
    long long at;
    for (p = e->text; p < e->text + e->len; p++) {
        if (*p == ' ' || *p == '\t') space = p;
    }
    if (!space) return;
    errno = 0;
    at = strtoll(space + 1, &end, 10);
    if (errno != 0 || end != e->text + e->len) return; /* not a number: part of the name */
    e->at = (int64_t)at;
    while (space > e->text && is_space(space[-1])) space--;
    e->len = (size_t)(space - e->text);
}

/* Turns the file's bytes into sorted arrays. Takes `data`, even on failure. */
static snapshot *build_snapshot(char *data, size_t size, file_id id) {
    snapshot *snap = calloc(1, sizeof *snap);
    char *line = data, *end = data + size;
    size_t lines = 1, i, kept;
    if (!snap) { free(data); return NULL; }
    snap->data = data;
    snap->id = id;
    snap->refs = 1;
    for (i = 0; i < size; i++) lines += data[i] == '\n';
    snap->jtis = malloc(lines * sizeof *snap->jtis);
    snap->subjects = malloc(lines * sizeof *snap->subjects);
    if (!snap->jtis || !snap->subjects) { free_snapshot(snap); return NULL; }
    while (line < end) {
        char *next = memchr(line, '\n', (size_t)(end - line));
        char *stop = next ? next : end;
        entry e;
        while (line < stop && is_space(*line)) line++;
        while (stop > line && is_space(stop[-1])) stop--;
        e.text = line;
        e.len = (size_t)(stop - line);
        e.at = INT64_MAX;
        if (e.len > 4 && memcmp(line, "sub:", 4) == 0) {
            e.text += 4;
            e.len -= 4;
            parse_subject(&e);
            if (e.len > 0) snap->subjects[snap->subject_count++] = e;
        } else if (e.len > 0 && line[0] != '#') {
            snap->jtis[snap->jti_count++] = e;
        }
        line = next ? next + 1 : end;
    }
    qsort(snap->jtis, snap->jti_count, sizeof(entry), compare_entries);
    qsort(snap->subjects, snap->subject_count, sizeof(entry), compare_entries);
    /* Several lines for one subject: keep the widest, so one bsearch answers. */
    for (i = 0, kept = 0; i < snap->subject_count; i++) {
        if (kept > 0 && compare_entries(&snap->subjects[kept - 1], &snap->subjects[i]) == 0) {
            if (snap->subjects[i].at > snap->subjects[kept - 1].at) snap->subjects[kept - 1].at = snap->subjects[i].at;
        } else {
            snap->subjects[kept++] = snap->subjects[i];
        }
    }
    snap->subject_count = kept;
    return snap;
}

/* Looks at the file. PC_OK with id->exists == 0 when there is none. */
static int32_t identify(const char *path, file_id *id, pc_errbuf err) {
    struct stat info;
    memset(id, 0, sizeof *id);
    if (stat(path, &info) != 0) {
        if (errno == ENOENT) return PC_OK;
        set_error(err, "file_denylist: cannot look at %s: %s", path, strerror(errno));
        return PC_ERR_UNAVAILABLE; /* our backend (the file) cannot be reached right now */
    }
    id->exists = 1;
    id->dev = info.st_dev;
    id->ino = info.st_ino;
    id->size = info.st_size;
    id->mtime = info.st_mtim;
    return PC_OK;
}

static int same_file(const file_id *a, const file_id *b) {
    if (a->exists != b->exists) return 0;
    return !a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                          a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec);
}

/* Reads the file into a new snapshot holding one reference (the caller's).
 * The caller holds file_lock. */
static int32_t load(pc_instance *inst, snapshot **out, pc_errbuf err) {
    file_id id;
    char *data = malloc(4096);
    size_t size = 0, cap = 4096;
    FILE *file = NULL;
    int32_t status = data ? identify(inst->path, &id, err) : PC_ERR_INTERNAL;
    if (!data) set_error(err, "file_denylist: out of memory");
    if (status == PC_OK && id.exists && !(file = fopen(inst->path, "rb"))) {
        set_error(err, "file_denylist: cannot read %s: %s", inst->path, strerror(errno));
        status = PC_ERR_UNAVAILABLE;
    }
    while (file) { /* read to the end: the size may have changed since stat() */
        size_t got;
        if (size == cap) {
            char *grown = realloc(data, cap * 2);
            if (!grown) { set_error(err, "file_denylist: out of memory"); status = PC_ERR_INTERNAL; break; }
            data = grown;
            cap *= 2;
        }
        got = fread(data + size, 1, cap - size, file);
        size += got;
        if (got == 0) {
            if (ferror(file)) { set_error(err, "file_denylist: cannot read %s", inst->path); status = PC_ERR_UNAVAILABLE; }
            break;
        }
    }
    if (file) fclose(file);
    if (status != PC_OK) { free(data); return status; }
    *out = build_snapshot(data, size, id);
    if (!*out) { set_error(err, "file_denylist: out of memory"); return PC_ERR_INTERNAL; }
    return PC_OK;
}

/* --- Snapshots ------------------------------------------------------------------ */

static void release(pc_instance *inst, snapshot *snap) {
    unsigned left;
    pthread_mutex_lock(&inst->lock);
    left = --snap->refs;
    pthread_mutex_unlock(&inst->lock);
    if (left == 0) free_snapshot(snap);
}

static time_t monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now); /* immune to wall-clock jumps */
    return now.tv_sec;
}

/* The first check of each second looks at the file and reloads it if it changed.
 * A file that cannot be read keeps the last good snapshot, with a warning, so an
 * editor's save-by-rename or a permissions slip does not fail requests. */
static void refresh(pc_instance *inst) {
    char message[256];
    pc_errbuf err;
    file_id id, loaded;
    snapshot *fresh = NULL, *old = NULL;
    err.buf = message;
    err.cap = sizeof message;
    pthread_mutex_lock(&inst->file_lock);
    /* Only refresh() replaces `current`, under file_lock, which we hold. */
    pthread_mutex_lock(&inst->lock);
    loaded = inst->current->id;
    pthread_mutex_unlock(&inst->lock);
    if (identify(inst->path, &id, err) != PC_OK || (!same_file(&id, &loaded) && load(inst, &fresh, err) != PC_OK)) {
        log_line(inst->host, PC_LOG_WARN, "%s (keeping the entries loaded before)", message);
    } else if (fresh) {
        log_line(inst->host, PC_LOG_INFO, "file_denylist: loaded %lu jti and %lu subject entries from %s",
                 (unsigned long)fresh->jti_count, (unsigned long)fresh->subject_count, inst->path);
        pthread_mutex_lock(&inst->lock);
        old = inst->current; /* `fresh` takes over the instance's reference */
        inst->current = fresh;
        pthread_mutex_unlock(&inst->lock);
        release(inst, old); /* freed now, or by the last check still using it */
    }
    pthread_mutex_unlock(&inst->file_lock);
}

/* The snapshot to answer from, with a reference the caller must release(). */
static snapshot *acquire(pc_instance *inst) {
    time_t now = monotonic_seconds();
    snapshot *snap;
    int look;
    pthread_mutex_lock(&inst->lock);
    look = inst->checked_at != now;
    inst->checked_at = now; /* the other checks in this second skip the look */
    pthread_mutex_unlock(&inst->lock);
    if (look) refresh(inst);
    pthread_mutex_lock(&inst->lock);
    snap = inst->current;
    snap->refs++;
    pthread_mutex_unlock(&inst->lock);
    return snap;
}

/* --- The plugin functions ----------------------------------------------------- */

/* Never fails: a file that cannot be read keeps the last snapshot (see refresh). */
static int32_t fd_is_revoked(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err) {
    snapshot *snap = acquire(inst);
    const entry *found = NULL;
    entry key;
    (void)err;
    key.text = tok->jti.ptr;
    key.len = tok->jti.len;
    if (snap->jti_count) found = bsearch(&key, snap->jtis, snap->jti_count, sizeof(entry), compare_entries);
    if (!found && tok->sub.ptr && snap->subject_count) {
        key.text = tok->sub.ptr;
        key.len = tok->sub.len;
        found = bsearch(&key, snap->subjects, snap->subject_count, sizeof(entry), compare_entries);
        /* Issued after the entry: not covered. A token without iat has INT64_MIN,
         * so it counts as issued before, as the header asks. */
        if (found && tok->iat > found->at) found = NULL;
    }
    *verdict = found ? PC_REVOKED : PC_NOT_REVOKED;
    release(inst, snap);
    return PC_OK;
}

/* A value we append must read back as exactly itself. PC_ERR_INVALID is for bad
 * input: the host does not retry it. */
static int32_t check_value(pc_str value, const char *what, pc_errbuf err) {
    size_t i;
    if (value.ptr == NULL || value.len == 0) {
        set_error(err, "file_denylist: the %s is empty", what);
        return PC_ERR_INVALID;
    }
    if (value.len > MAX_VALUE) {
        set_error(err, "file_denylist: the %s is longer than %d bytes", what, MAX_VALUE);
        return PC_ERR_INVALID;
    }
    for (i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if (c <= ' ' || c == 0x7f) {
            set_error(err, "file_denylist: the %s contains a space or a control character", what);
            return PC_ERR_INVALID;
        }
    }
    if (value.ptr[0] == '#' || (value.len >= 4 && memcmp(value.ptr, "sub:", 4) == 0)) {
        set_error(err, "file_denylist: the %s would read back as a comment or a subject line", what);
        return PC_ERR_INVALID;
    }
    return PC_OK;
}

/* Appends prefix + value + suffix as one line, first ending a last line that a
 * hand edit left without a newline. */
static int32_t append_line(pc_instance *inst, const char *prefix, pc_str value, const char *suffix, pc_errbuf err) {
    FILE *file;
    int ok, newline;
    pthread_mutex_lock(&inst->file_lock);
    file = fopen(inst->path, "a+b"); /* creates the file; every write goes to the end */
    if (!file) {
        set_error(err, "file_denylist: cannot open %s: %s", inst->path, strerror(errno));
        pthread_mutex_unlock(&inst->file_lock);
        return PC_ERR_UNAVAILABLE; /* the backend cannot take writes right now */
    }
    newline = fseek(file, -1, SEEK_END) == 0 && fgetc(file) != '\n';
    ok = fseek(file, 0, SEEK_END) == 0; /* C requires a seek between reading and writing */
    ok = ok && (!newline || fputc('\n', file) != EOF);
    ok = ok && fprintf(file, "%s%.*s%s\n", prefix, (int)value.len, value.ptr, suffix) > 0;
    ok = fclose(file) == 0 && ok; /* fclose flushes: a full disk shows up here */
    pthread_mutex_unlock(&inst->file_lock);
    if (!ok) {
        set_error(err, "file_denylist: cannot append to %s", inst->path);
        return PC_ERR_UNAVAILABLE;
    }
    /* The next check looks at the file at once: our own revocation counts now,
     * not within a second. */
    pthread_mutex_lock(&inst->lock);
    inst->checked_at = -1;
    pthread_mutex_unlock(&inst->lock);
    return PC_OK;
}

/* tok->exp is ignored: a text file keeps its lines until someone deletes them. */
static int32_t fd_revoke(pc_instance *inst, const pc_token *tok, pc_errbuf err) {
    int32_t status = check_value(tok->jti, "jti", err);
    return status == PC_OK ? append_line(inst, "", tok->jti, "", err) : status;
}

/* Writes "sub:<sub> <at>"; `until` is ignored for the same reason as tok->exp. */
static int32_t fd_revoke_subject(pc_instance *inst, pc_str sub, int64_t at, int64_t until, pc_errbuf err) {
    char suffix[32];
    int32_t status = check_value(sub, "subject", err);
    (void)until;
    if (status != PC_OK) return status;
    snprintf(suffix, sizeof suffix, " %lld", (long long)at);
    return append_line(inst, "sub:", sub, suffix, err);
}

/* Healthy when the file can be read right now (or does not exist yet). */
static int32_t fd_health(pc_instance *inst, pc_errbuf err) {
    snapshot *snap = NULL;
    int32_t status;
    pthread_mutex_lock(&inst->file_lock);
    status = load(inst, &snap, err);
    pthread_mutex_unlock(&inst->file_lock);
    if (snap) free_snapshot(snap); /* never shared: only a check of the file */
    return status;
}

/* The host calls destroy() once, when no other call on the instance is running,
 * so the instance holds the only reference left. We start no threads, so there
 * is nothing to join before returning. */
static void fd_destroy(pc_instance *inst) {
    if (!inst) return;
    free_snapshot(inst->current);
    pthread_mutex_destroy(&inst->lock);
    pthread_mutex_destroy(&inst->file_lock);
    free(inst->path);
    free(inst);
}

static int32_t fd_create(const pc_host_api *host, pc_str config_json, pc_instance **out, pc_errbuf err) {
    char *path = NULL, *config_dir = NULL;
    pc_instance *inst = NULL;
    int32_t status = parse_config(config_json, &path, &config_dir, err);
    const char *name = path ? path : "denylist.txt";
    if (status == PC_OK && !(inst = calloc(1, sizeof *inst))) {
        set_error(err, "file_denylist: out of memory");
        status = PC_ERR_INTERNAL;
    }
    if (status != PC_OK) {
        free(path);
        free(config_dir);
        return status;
    }
    /* A relative path is relative to config_dir, the folder of gateway.yaml. */
    if (name[0] == '/' || !config_dir) {
        inst->path = malloc(strlen(name) + 1);
        if (inst->path) strcpy(inst->path, name);
    } else {
        inst->path = malloc(strlen(config_dir) + 1 + strlen(name) + 1);
        if (inst->path) sprintf(inst->path, "%s/%s", config_dir, name);
    }
    free(path);
    free(config_dir);
    if (!inst->path) {
        free(inst);
        set_error(err, "file_denylist: out of memory");
        return PC_ERR_INTERNAL;
    }
    inst->host = host; /* the host's; kept to log from later calls */
    inst->checked_at = monotonic_seconds();
    pthread_mutex_init(&inst->lock, NULL);
    pthread_mutex_init(&inst->file_lock, NULL);
    status = load(inst, &inst->current, err); /* no other thread knows inst yet */
    if (status != PC_OK) {
        inst->current = NULL;
        fd_destroy(inst);
        return status; /* e.g. unreadable file: the gateway does not start */
    }
    log_line(host, PC_LOG_INFO, "file_denylist: %lu jti and %lu subject entries from %s%s",
             (unsigned long)inst->current->jti_count, (unsigned long)inst->current->subject_count, inst->path,
             inst->current->id.exists ? "" : " (no such file yet)");
    *out = inst;
    return PC_OK;
}

/* The one exported symbol. `out` points at out_size zeroed bytes: a host built
 * against an older minor version has a smaller descriptor, so copy no more than
 * it has room for. The name and version strings are static: they live until
 * dlclose, as the header requires. Unused optional slots stay NULL. */
PC_EXPORT int32_t portcullis_blocklist_plugin_v1(const pc_host_api *host, pc_blocklist_plugin *out, size_t out_size) {
    pc_blocklist_plugin descriptor;
    (void)host; /* create() receives it again; nothing to do with it here */
    memset(&descriptor, 0, sizeof descriptor);
    descriptor.abi_major = PC_PLUGIN_ABI_MAJOR;
    descriptor.abi_minor = PC_PLUGIN_ABI_MINOR;
    descriptor.struct_size = sizeof descriptor;
    descriptor.name = "file_denylist";
    descriptor.version = "1.0.0";
    descriptor.capabilities = PC_CAP_THREADSAFE | PC_CAP_SUBJECT;
    descriptor.create = fd_create;
    descriptor.destroy = fd_destroy;
    descriptor.health = fd_health;
    descriptor.is_revoked = fd_is_revoked;
    descriptor.revoke = fd_revoke;
    descriptor.revoke_subject = fd_revoke_subject;
    memcpy(out, &descriptor, out_size < sizeof descriptor ? out_size : sizeof descriptor);
    return PC_OK;
}
