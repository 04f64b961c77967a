/*
 * plugin_driver.c — drives one blocklist plugin through every call of the ABI
 * (portcullis_plugin.h) and checks each answer, so that the plugin can be run under
 * valgrind or a sanitizer without the gateway around it (scripts/plugins-memcheck.sh).
 *
 *     plugin_driver PLUGIN.so CONFIG_JSON [ENTRIES]
 *
 * CONFIG_JSON is handed to create() as the gateway would hand `blocklist.config`.
 * ENTRIES (default 100000) is how many distinct jtis the bulk phase revokes and checks.
 * Exit 0 when every answer was right, 1 when one was wrong, 2 when the plugin could not
 * be loaded or created.
 *
 * Every string handed to the plugin is a heap copy of exactly its length, without a NUL,
 * and every error buffer is exactly its cap long, so a read or write past either is an
 * error valgrind (or ASan) reports. A plain C tool built with `cc` (no SwiftPM target):
 * it needs only the ABI header, as a third-party host would.
 */
#include "portcullis_plugin.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ERR_CAP 256
#define HUGE_JTI (1u << 20)
#define BATCH_CHUNK 1000
#define THREADS 4
#define THREAD_ROUNDS 500

/* --- Results ------------------------------------------------------------------------ */

static int checks, failures;
static pthread_mutex_t results_lock = PTHREAD_MUTEX_INITIALIZER;

static void expect(int ok, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Counts one check; prints the failing ones (thread-safe: the threaded phase uses it). */
static void expect(int ok, const char *format, ...) {
    pthread_mutex_lock(&results_lock);
    checks++;
    if (!ok) {
        failures++;
        va_list args;
        va_start(args, format);
        fputs("FAIL: ", stderr);
        vfprintf(stderr, format, args);
        fputc('\n', stderr);
        va_end(args);
    }
    pthread_mutex_unlock(&results_lock);
}

static const char *status_name(int32_t status) {
    static const char *const names[] = {"PC_OK", "PC_ERR_INVALID", "PC_ERR_UNAVAILABLE", "PC_ERR_TIMEOUT",
                                        "PC_ERR_UNSUPPORTED", "PC_ERR_INTERNAL"};
    return status >= 0 && status <= PC_ERR_INTERNAL ? names[status] : "(not a status)";
}

/* --- Host --------------------------------------------------------------------------- */

static int host_marker;
static int32_t log_threshold = PC_LOG_INFO;

static void host_log(void *ctx, int32_t level, const char *msg, size_t len) {
    expect(ctx == &host_marker, "log: host_ctx not passed back");
    expect(level >= PC_LOG_DEBUG && level <= PC_LOG_ERROR, "log: level %d", (int)level);
    fprintf(stderr, "plugin log [%d]: %.*s\n", (int)level, (int)len, msg);
}

static int32_t host_log_enabled(void *ctx, int32_t level) {
    (void)ctx;
    return level >= log_threshold;
}

static const pc_host_api host = {
    .abi_major = PC_PLUGIN_ABI_MAJOR,
    .abi_minor = PC_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(pc_host_api),
    .host_ctx = &host_marker,
    .log = host_log,
    .log_enabled = host_log_enabled,
};

/* --- Borrowed inputs ------------------------------------------------------------------ */

/* A heap copy of exactly len bytes, no NUL. len 0 still gets a non-NULL pointer. */
static pc_str bytes(const void *data, size_t len) {
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        perror("malloc");
        exit(2);
    }
    if (len) memcpy(copy, data, len);
    return (pc_str){copy, len};
}

static pc_str text(const char *s) { return bytes(s, strlen(s)); }

static const pc_str absent = {NULL, 0};

static void str_free(pc_str s) { free((void *)s.ptr); }

static pc_token token(const char *jti, const char *sub, int64_t iat, int64_t exp) {
    return (pc_token){text(jti), sub ? text(sub) : absent, iat, exp};
}

static void token_free(pc_token *t) {
    str_free(t->jti);
    str_free(t->sub);
}

/* An error buffer of exactly ERR_CAP bytes, filled with non-NUL garbage. */
static pc_errbuf errbuf_new(void) {
    char *buf = malloc(ERR_CAP);
    if (!buf) exit(2);
    memset(buf, 'x', ERR_CAP);
    return (pc_errbuf){buf, ERR_CAP};
}

/* A failing call must leave a NUL-terminated, non-empty message. */
static void errbuf_check(pc_errbuf err, int32_t status, const char *call) {
    if (status != PC_OK) {
        const char *nul = memchr(err.buf, '\0', err.cap);
        expect(nul != NULL && nul != err.buf, "%s: %s without a NUL-terminated message", call, status_name(status));
        if (nul) fprintf(stderr, "  (%s: %s: %s)\n", call, status_name(status), err.buf);
    }
    free(err.buf);
}

/* --- Calls ---------------------------------------------------------------------------- */

typedef struct driver {
    pc_blocklist_plugin d;
    pc_instance *inst;
    int64_t now;
    char run[48]; /* prefix of every jti and sub, so runs never see each other's entries */
} driver;

static int32_t call_revoke(driver *dr, const pc_token *t) {
    pc_errbuf err = errbuf_new();
    int32_t status = dr->d.revoke(dr->inst, t, err);
    errbuf_check(err, status, "revoke");
    return status;
}

static int32_t call_subject(driver *dr, pc_str sub, int64_t at, int64_t until) {
    pc_errbuf err = errbuf_new();
    int32_t status = dr->d.revoke_subject(dr->inst, sub, at, until, err);
    errbuf_check(err, status, "revoke_subject");
    return status;
}

/* The verdict, or -1 (after reporting it) when the call failed. */
static int32_t verdict_of(driver *dr, pc_instance *inst, const pc_token *t) {
    pc_errbuf err = errbuf_new();
    int32_t verdict = -1;
    int32_t status = dr->d.is_revoked(inst, t, &verdict, err);
    errbuf_check(err, status, "is_revoked");
    if (status != PC_OK) return -1;
    expect(verdict == PC_REVOKED || verdict == PC_NOT_REVOKED, "is_revoked: verdict %d", (int)verdict);
    return verdict;
}

static void expect_revoked(driver *dr, const pc_token *t, int32_t want, const char *what) {
    int32_t got = verdict_of(dr, dr->inst, t);
    expect(got == want, "%s: is_revoked answered %d, expected %d", what, (int)got, (int)want);
}

static void expect_status(int32_t got, int32_t want, const char *what) {
    expect(got == want, "%s: %s, expected %s", what, status_name(got), status_name(want));
}

/* Formats the run-specific name "RUN-what" into a static buffer of the caller. */
static const char *named(const driver *dr, char *out, size_t cap, const char *what) {
    snprintf(out, cap, "%s-%s", dr->run, what);
    return out;
}

/* --- Phases --------------------------------------------------------------------------- */

static void *load(const char *path, driver *dr) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        exit(2);
    }
    pc_blocklist_plugin_entry_fn entry;
    *(void **)&entry = dlsym(library, PC_BLOCKLIST_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        fprintf(stderr, "%s: no %s\n", path, PC_BLOCKLIST_PLUGIN_ENTRY_SYMBOL);
        exit(2);
    }
    /* A host of an older minor version offers fewer bytes: exactly that many, on the
     * heap, so a write past them is reported. */
    size_t short_size = offsetof(pc_blocklist_plugin, revoke_subject);
    pc_blocklist_plugin *small = calloc(1, short_size);
    expect_status(entry(&host, small, short_size), PC_OK, "entry with a short descriptor");
    free(small);

    memset(&dr->d, 0, sizeof dr->d);
    expect_status(entry(&host, &dr->d, sizeof dr->d), PC_OK, "entry");
    const pc_blocklist_plugin *d = &dr->d;
    if (d->abi_major != PC_PLUGIN_ABI_MAJOR || d->struct_size < sizeof *d || !d->create || !d->destroy ||
        !d->health || !d->is_revoked || !d->revoke) {
        fprintf(stderr, "%s: descriptor refused (abi %u, size %zu, or a required function is NULL)\n", path,
                (unsigned)d->abi_major, d->struct_size);
        exit(2);
    }
    expect(d->name && d->version, "descriptor: name and version");
    expect(!(d->capabilities & PC_CAP_SUBJECT) || d->revoke_subject, "PC_CAP_SUBJECT without revoke_subject");
    expect(!(d->capabilities & PC_CAP_BATCH) || d->is_revoked_batch, "PC_CAP_BATCH without is_revoked_batch");
    printf("%s %s, capabilities 0x%x\n", d->name, d->version, (unsigned)d->capabilities);
    return library;
}

static int32_t create(driver *dr, pc_str config, pc_instance **out) {
    pc_errbuf err = errbuf_new();
    int32_t status = dr->d.create(&host, config, out, err);
    errbuf_check(err, status, "create");
    return status;
}

static void bad_configs(driver *dr) {
    static const char *const configs[] = {"", "not json", "{", "[]", "{\"no_such_key\": 1}", "{\"a\": 1,}",
                                          "{\"\\ud800\": 1}", "{} trailing"};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        pc_str config = text(configs[i]);
        pc_instance *inst = NULL;
        expect_status(create(dr, config, &inst), PC_ERR_INVALID, configs[i]);
        str_free(config);
    }
    pc_instance *inst = NULL;
    expect_status(create(dr, absent, &inst), PC_ERR_INVALID, "create with a NULL config");
}

static void health(driver *dr) {
    pc_errbuf err = errbuf_new();
    int32_t status = dr->d.health(dr->inst, err);
    errbuf_check(err, status, "health");
    expect_status(status, PC_OK, "health");
}

static void jtis(driver *dr) {
    char a[96], b[96], c[96], d[96], e[96], f[96];
    pc_token revoked = token(named(dr, a, sizeof a, "jti-a"), NULL, dr->now - 10, dr->now + 3600);
    pc_token other = token(named(dr, b, sizeof b, "jti-b"), NULL, dr->now - 10, dr->now + 3600);
    expect_revoked(dr, &revoked, PC_NOT_REVOKED, "jti before revoke");
    expect_status(call_revoke(dr, &revoked), PC_OK, "revoke");
    expect_status(call_revoke(dr, &revoked), PC_OK, "revoke again");
    expect_revoked(dr, &revoked, PC_REVOKED, "revoked jti");
    expect_revoked(dr, &other, PC_NOT_REVOKED, "jti never revoked");
    /* A check passes the token's exp, which need not match the one revoked with. */
    pc_token checked = token(a, "someone", INT64_MIN, INT64_MIN);
    expect_revoked(dr, &checked, PC_REVOKED, "revoked jti checked without iat/exp");

    pc_token past = token(named(dr, c, sizeof c, "jti-expired"), NULL, dr->now - 100, dr->now - 10);
    expect_status(call_revoke(dr, &past), PC_OK, "revoke with exp in the past");
    expect_revoked(dr, &past, PC_NOT_REVOKED, "jti revoked with exp in the past");

    pc_token forever = token(named(dr, d, sizeof d, "jti-no-exp"), NULL, INT64_MIN, INT64_MAX);
    expect_status(call_revoke(dr, &forever), PC_OK, "revoke with exp INT64_MAX");
    expect_revoked(dr, &forever, PC_REVOKED, "jti revoked until INT64_MAX");
    pc_token no_time = token(named(dr, e, sizeof e, "jti-exp-min"), NULL, INT64_MIN, INT64_MIN);
    expect_status(call_revoke(dr, &no_time), PC_OK, "revoke with exp INT64_MIN");
    expect_revoked(dr, &no_time, PC_REVOKED, "jti revoked with exp INT64_MIN (kept for good)");
    pc_token far = token(named(dr, f, sizeof f, "jti-exp-max-1"), NULL, INT64_MIN, INT64_MAX - 1);
    expect_status(call_revoke(dr, &far), PC_OK, "revoke with exp INT64_MAX - 1");
    expect_revoked(dr, &far, PC_REVOKED, "jti revoked until INT64_MAX - 1");

    pc_token *all[] = {&revoked, &other, &checked, &past, &forever, &no_time, &far};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) token_free(all[i]);
}

static void invalid_inputs(driver *dr) {
    pc_token empty = {bytes("", 0), absent, INT64_MIN, dr->now + 60};
    pc_token null_jti = {absent, absent, INT64_MIN, dr->now + 60};
    expect_status(call_revoke(dr, &empty), PC_ERR_INVALID, "revoke with an empty jti");
    expect_status(call_revoke(dr, &null_jti), PC_ERR_INVALID, "revoke with a NULL jti");
    /* The host never checks an empty jti; a plugin may answer "not revoked" or refuse. */
    pc_errbuf err = errbuf_new();
    int32_t verdict = -1;
    int32_t status = dr->d.is_revoked(dr->inst, &empty, &verdict, err);
    errbuf_check(err, status, "is_revoked");
    expect((status == PC_OK && verdict == PC_NOT_REVOKED) || status == PC_ERR_INVALID,
           "is_revoked with an empty jti: %s, verdict %d", status_name(status), (int)verdict);
    str_free(empty.jti);
    if (!(dr->d.capabilities & PC_CAP_SUBJECT)) return;
    pc_str empty_sub = bytes("", 0);
    expect_status(call_subject(dr, absent, dr->now, dr->now + 60), PC_ERR_INVALID, "revoke_subject with a NULL sub");
    expect_status(call_subject(dr, empty_sub, dr->now, dr->now + 60), PC_ERR_INVALID,
                  "revoke_subject with an empty sub");
    str_free(empty_sub);
}

/* 1 MiB jtis of every byte value (NUL included) that differ only in their last byte. */
static void huge_jti(driver *dr) {
    unsigned char *raw = malloc(HUGE_JTI);
    if (!raw) exit(2);
    size_t prefix = strlen(dr->run);
    memcpy(raw, dr->run, prefix);
    for (size_t i = prefix; i < HUGE_JTI; i++) raw[i] = (unsigned char)(i * 7);
    pc_token big = {bytes(raw, HUGE_JTI), absent, INT64_MIN, dr->now + 3600};
    raw[HUGE_JTI - 1] ^= 1;
    pc_token neighbour = {bytes(raw, HUGE_JTI), absent, INT64_MIN, dr->now + 3600};
    pc_token shorter = {bytes(raw, HUGE_JTI - 1), absent, INT64_MIN, dr->now + 3600};
    free(raw);
    expect_status(call_revoke(dr, &big), PC_OK, "revoke a 1 MiB binary jti");
    expect_revoked(dr, &big, PC_REVOKED, "1 MiB binary jti");
    expect_revoked(dr, &neighbour, PC_NOT_REVOKED, "1 MiB jti differing in its last byte");
    expect_revoked(dr, &shorter, PC_NOT_REVOKED, "1 MiB jti one byte shorter");
    /* "x\0y" and "x\0z": a NUL inside a jti must not end it. */
    char nul_a[96], nul_b[96];
    int n = snprintf(nul_a, sizeof nul_a, "%s-nul", dr->run);
    memcpy(nul_b, nul_a, (size_t)n);
    memcpy(nul_a + n, "\0y", 2);
    memcpy(nul_b + n, "\0z", 2);
    pc_token with_nul = {bytes(nul_a, (size_t)n + 2), absent, INT64_MIN, dr->now + 3600};
    pc_token other_nul = {bytes(nul_b, (size_t)n + 2), absent, INT64_MIN, dr->now + 3600};
    pc_token cut = {bytes(nul_a, (size_t)n), absent, INT64_MIN, dr->now + 3600};
    expect_status(call_revoke(dr, &with_nul), PC_OK, "revoke a jti with a NUL byte");
    expect_revoked(dr, &with_nul, PC_REVOKED, "jti with a NUL byte");
    expect_revoked(dr, &other_nul, PC_NOT_REVOKED, "jti differing after a NUL byte");
    expect_revoked(dr, &cut, PC_NOT_REVOKED, "jti cut at its NUL byte");
    pc_token *all[] = {&big, &neighbour, &shorter, &with_nul, &other_nul, &cut};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) token_free(all[i]);
}

static void subjects(driver *dr) {
    if (!(dr->d.capabilities & PC_CAP_SUBJECT)) {
        printf("no PC_CAP_SUBJECT: subject checks skipped\n");
        return;
    }
    char s[96], s2[96], s3[96], s4[96], j[7][96];
    const char *sub = named(dr, s, sizeof s, "alice");
    int64_t now = dr->now;
    pc_token before = token(named(dr, j[0], sizeof j[0], "alice-1"), sub, now - 10, now + 3600);
    pc_token after = token(named(dr, j[1], sizeof j[1], "alice-2"), sub, now + 100, now + 3600);
    pc_token no_iat = token(named(dr, j[2], sizeof j[2], "alice-3"), sub, INT64_MIN, INT64_MIN);
    pc_token bob = token(named(dr, j[3], sizeof j[3], "bob-1"), named(dr, s2, sizeof s2, "bob"), now - 10, now + 3600);
    pc_token no_sub = token(named(dr, j[4], sizeof j[4], "nobody-1"), NULL, now - 10, now + 3600);
    pc_token *tokens[] = {&before, &after, &no_iat, &bob, &no_sub};
    for (size_t i = 0; i < 5; i++) expect_revoked(dr, tokens[i], PC_NOT_REVOKED, "token before revoke_subject");

    expect_status(call_subject(dr, before.sub, now, now + 3600), PC_OK, "revoke_subject");
    int32_t want[] = {PC_REVOKED, PC_NOT_REVOKED, PC_REVOKED, PC_NOT_REVOKED, PC_NOT_REVOKED};
    static const char *const names[] = {"subject token issued before", "subject token issued after",
                                        "subject token without iat", "other subject", "token without sub"};
    for (size_t i = 0; i < 5; i++) expect_revoked(dr, tokens[i], want[i], names[i]);
    expect_status(call_subject(dr, before.sub, now - 1000, now + 60), PC_OK, "revoke_subject with a smaller at");
    expect_revoked(dr, &before, PC_REVOKED, "a smaller at does not narrow a subject revocation");
    expect_status(call_subject(dr, before.sub, now + 200, now + 3600), PC_OK, "revoke_subject with a larger at");
    expect_revoked(dr, &after, PC_REVOKED, "a larger at widens a subject revocation");
    expect_revoked(dr, &bob, PC_NOT_REVOKED, "other subject after widening");

    /* until already passed: nothing it covers can still be presented. */
    pc_token gone = token(named(dr, j[5], sizeof j[5], "carol-1"), named(dr, s3, sizeof s3, "carol"), now - 10,
                          now + 3600);
    expect_status(call_subject(dr, gone.sub, now, now - 10), PC_OK, "revoke_subject with until in the past");
    expect_revoked(dr, &gone, PC_NOT_REVOKED, "subject revoked until a time already past");
    /* The extremes of `at`, on a fresh subject (an entry past its `until` "may be
     * forgotten": whether its `at` still counts is up to the plugin): INT64_MIN covers
     * only tokens without iat, INT64_MAX every one. */
    pc_token edge = token(named(dr, j[6], sizeof j[6], "dave-1"), named(dr, s4, sizeof s4, "dave"), INT64_MIN,
                          INT64_MIN);
    expect_status(call_subject(dr, edge.sub, INT64_MIN, INT64_MIN), PC_OK, "revoke_subject at INT64_MIN");
    expect_revoked(dr, &edge, PC_REVOKED, "token without iat, subject revoked at INT64_MIN");
    edge.iat = 0;
    expect_revoked(dr, &edge, PC_NOT_REVOKED, "token with iat 0, subject revoked at INT64_MIN");
    expect_status(call_subject(dr, edge.sub, INT64_MAX, INT64_MAX), PC_OK, "revoke_subject at INT64_MAX");
    edge.iat = INT64_MAX - 1;
    expect_revoked(dr, &edge, PC_REVOKED, "token with iat INT64_MAX - 1, subject revoked at INT64_MAX");
    for (size_t i = 0; i < 5; i++) token_free(tokens[i]);
    token_free(&gone);
    token_free(&edge);
}

/* is_revoked_batch agrees with is_revoked on a mix of tokens, and accepts n = 0. */
static void batch(driver *dr) {
    if (!(dr->d.capabilities & PC_CAP_BATCH)) {
        printf("no PC_CAP_BATCH: batch checks skipped\n");
        return;
    }
    char names[6][96], sub[96];
    pc_token toks[6] = {
        token(named(dr, names[0], sizeof names[0], "jti-a"), NULL, dr->now, dr->now + 60),
        token(named(dr, names[1], sizeof names[1], "jti-b"), NULL, dr->now, dr->now + 60),
        token(named(dr, names[2], sizeof names[2], "alice-1"), named(dr, sub, sizeof sub, "alice"), dr->now - 10,
              dr->now + 60),
        token(named(dr, names[3], sizeof names[3], "alice-9"), sub, INT64_MAX, INT64_MIN),
        token(named(dr, names[4], sizeof names[4], "jti-expired"), NULL, INT64_MIN, INT64_MIN),
        token(named(dr, names[5], sizeof names[5], "jti-no-exp"), sub, INT64_MAX, dr->now + 60),
    };
    /* By then: jti-a revoked; alice revoked at now + 200; jti-expired never stored;
     * jti-no-exp revoked for good. */
    int32_t by_subject = dr->d.capabilities & PC_CAP_SUBJECT ? PC_REVOKED : PC_NOT_REVOKED;
    const int32_t want[6] = {PC_REVOKED, PC_NOT_REVOKED, by_subject, PC_NOT_REVOKED, PC_NOT_REVOKED, PC_REVOKED};
    int32_t verdicts[6];
    memset(verdicts, 0x55, sizeof verdicts);
    pc_errbuf err = errbuf_new();
    int32_t status = dr->d.is_revoked_batch(dr->inst, toks, 6, verdicts, err);
    errbuf_check(err, status, "is_revoked_batch");
    expect_status(status, PC_OK, "is_revoked_batch");
    for (size_t i = 0; status == PC_OK && i < 6; i++) {
        int32_t single = verdict_of(dr, dr->inst, &toks[i]);
        expect(verdicts[i] == single && single == want[i], "batch verdict %zu is %d, is_revoked says %d, expected %d",
               i, (int)verdicts[i], (int)single, (int)want[i]);
    }
    err = errbuf_new();
    status = dr->d.is_revoked_batch(dr->inst, NULL, 0, NULL, err);
    errbuf_check(err, status, "is_revoked_batch");
    expect_status(status, PC_OK, "is_revoked_batch with n = 0");
    for (size_t i = 0; i < 6; i++) token_free(&toks[i]);
}

/* Checks `count` jtis "RUN-what-N" in batches (or one by one without PC_CAP_BATCH). */
static void check_many(driver *dr, const char *what, size_t count, int32_t want) {
    pc_token *toks = calloc(BATCH_CHUNK, sizeof *toks);
    int32_t *verdicts = calloc(BATCH_CHUNK, sizeof *verdicts);
    size_t wrong = 0;
    for (size_t start = 0; start < count; start += BATCH_CHUNK) {
        size_t n = count - start < BATCH_CHUNK ? count - start : BATCH_CHUNK;
        for (size_t i = 0; i < n; i++) {
            char jti[96];
            snprintf(jti, sizeof jti, "%s-%s-%zu", dr->run, what, start + i);
            toks[i] = token(jti, NULL, dr->now, dr->now + 3600);
        }
        int32_t status = PC_OK;
        if (dr->d.capabilities & PC_CAP_BATCH) {
            pc_errbuf err = errbuf_new();
            status = dr->d.is_revoked_batch(dr->inst, toks, n, verdicts, err);
            errbuf_check(err, status, "is_revoked_batch");
        } else {
            for (size_t i = 0; i < n; i++) verdicts[i] = verdict_of(dr, dr->inst, &toks[i]);
        }
        for (size_t i = 0; i < n; i++) {
            if (status != PC_OK || verdicts[i] != want) wrong++;
            token_free(&toks[i]);
        }
    }
    expect(wrong == 0, "%zu of %zu '%s' jtis answered wrong (expected %d)", wrong, count, what, (int)want);
    free(toks);
    free(verdicts);
}

static void many(driver *dr, size_t count) {
    size_t refused = 0;
    for (size_t i = 0; i < count; i++) {
        char jti[96];
        snprintf(jti, sizeof jti, "%s-many-%zu", dr->run, i);
        pc_token t = token(jti, "many", dr->now, dr->now + 3600);
        if (call_revoke(dr, &t) != PC_OK) refused++;
        token_free(&t);
    }
    expect(refused == 0, "%zu of %zu revocations refused", refused, count);
    check_many(dr, "many", count, PC_REVOKED);
    check_many(dr, "never", count, PC_NOT_REVOKED);
}

typedef struct worker {
    driver *dr;
    int index;
} worker;

/* Each thread revokes its own jtis and checks them and the others' shared ones. */
static void *work(void *argument) {
    worker *w = argument;
    for (int i = 0; i < THREAD_ROUNDS; i++) {
        char jti[96];
        snprintf(jti, sizeof jti, "%s-thread-%d-%d", w->dr->run, w->index, i);
        pc_token mine = token(jti, NULL, w->dr->now, w->dr->now + 3600);
        expect_status(call_revoke(w->dr, &mine), PC_OK, "revoke from a thread");
        expect_revoked(w->dr, &mine, PC_REVOKED, "own jti from a thread");
        snprintf(jti, sizeof jti, "%s-many-%d", w->dr->run, i);
        pc_token shared = token(jti, NULL, w->dr->now, w->dr->now + 3600);
        int32_t verdict = verdict_of(w->dr, w->dr->inst, &shared);
        expect(verdict == PC_REVOKED || verdict == PC_NOT_REVOKED, "shared jti from a thread");
        token_free(&mine);
        token_free(&shared);
    }
    return NULL;
}

static void threads(driver *dr) {
    if (!(dr->d.capabilities & PC_CAP_THREADSAFE)) return;
    pthread_t ids[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){dr, i};
        if (pthread_create(&ids[i], NULL, work, &workers[i]) != 0) exit(2);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(ids[i], NULL);
}

/* A second instance on the same config, as a reload makes while the first serves. */
static void second_instance(driver *dr, pc_str config) {
    pc_instance *second = NULL;
    int32_t status = create(dr, config, &second);
    expect_status(status, PC_OK, "create a second instance");
    if (status != PC_OK) return;
    char a[96];
    pc_token revoked = token(named(dr, a, sizeof a, "jti-a"), NULL, dr->now, dr->now + 60);
    /* The memory plugin keeps revocations per instance; the others share a store. */
    int32_t want = strcmp(dr->d.name, "memory") == 0 ? PC_NOT_REVOKED : PC_REVOKED;
    int32_t got = verdict_of(dr, second, &revoked);
    expect(got == want, "second instance: is_revoked answered %d, expected %d", (int)got, (int)want);
    token_free(&revoked);
    dr->d.destroy(second);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PLUGIN.so CONFIG_JSON [ENTRIES]\n", argv[0]);
        return 2;
    }
    size_t entries = argc == 4 ? strtoul(argv[3], NULL, 10) : 100000;
    const char *level = getenv("PLUGIN_DRIVER_LOG_LEVEL");
    if (level) log_threshold = (int32_t)atoi(level);
    driver dr = {.now = (int64_t)time(NULL)};
    snprintf(dr.run, sizeof dr.run, "run%ld-%" PRId64, (long)getpid(), dr.now);

    void *library = load(argv[1], &dr);
    bad_configs(&dr);
    pc_str config = text(argv[2]);
    if (create(&dr, config, &dr.inst) != PC_OK) {
        fprintf(stderr, "create failed with the given config\n");
        return 2;
    }
    health(&dr);
    jtis(&dr);
    invalid_inputs(&dr);
    huge_jti(&dr);
    subjects(&dr);
    batch(&dr);
    many(&dr, entries);
    threads(&dr);
    second_instance(&dr, config);
    health(&dr);
    dr.d.destroy(dr.inst);
    str_free(config);
    if (!(dr.d.capabilities & PC_CAP_NO_UNLOAD)) dlclose(library);

    printf("%s: %d checks, %d failed\n", argv[1], checks, failures);
    return failures ? 1 : 0;
}
