/* A fixed pool of blocking hiredis connections. A call takes a free connection
 * (waiting at most command_timeout_ms), uses it and gives it back. A connection
 * that fails is closed and made again on its next use; after a failed connect its
 * slot waits out a backoff (100 ms doubling to 5 s) during which calls fail fast,
 * so an outage costs each request microseconds, not a connect timeout. */
#include "redis_plugin.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct redis_slot {
    redisContext *ctx; /* NULL: not connected; used by the thread holding the slot, set under lock */
    int busy;
    int64_t retry_at_ms; /* monotonic; no connect attempt before it */
    int64_t backoff_ms;  /* the wait after the next failed connect */
} redis_slot;

struct redis_pool {
    const pc_host_api *host;
    redis_target target;
    struct timeval connect_timeout;
    struct timeval command_timeout;
    int64_t command_timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t slot_freed; /* on CLOCK_MONOTONIC */
    size_t size;
    redis_slot *slots;
    /* Under lock: */
    int down;             /* the last connect failed */
    int started;          /* create() is done: log losses and recoveries */
    char last_error[256]; /* why the last connect failed, for fail-fast answers */
};

static int64_t monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static struct timeval to_timeval(int64_t ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

redis_pool *redis_pool_create(const pc_host_api *host, redis_target *target, int64_t size, int64_t connect_timeout_ms,
                              int64_t command_timeout_ms) {
    redis_pool *pool = calloc(1, sizeof *pool);
    redis_slot *slots = calloc((size_t)size, sizeof *slots);
    pthread_condattr_t attributes;
    if (!pool || !slots || pthread_condattr_init(&attributes) != 0) {
        free(pool);
        free(slots);
        redis_target_clear(target);
        return NULL;
    }
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->slot_freed, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&pool->lock, NULL);
    pool->host = host;
    pool->target = *target;
    memset(target, 0, sizeof *target);
    pool->connect_timeout = to_timeval(connect_timeout_ms);
    pool->command_timeout = to_timeval(command_timeout_ms);
    pool->command_timeout_ms = command_timeout_ms;
    pool->size = (size_t)size;
    pool->slots = slots;
    for (size_t i = 0; i < pool->size; i++) slots[i].backoff_ms = BACKOFF_FIRST_MS;
    return pool;
}

void redis_pool_destroy(redis_pool *pool) {
    if (!pool) return;
    for (size_t i = 0; i < pool->size; i++) {
        if (pool->slots[i].ctx) redisFree(pool->slots[i].ctx);
    }
    free(pool->slots);
    redis_target_clear(&pool->target);
    pthread_cond_destroy(&pool->slot_freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

const char *redis_pool_where(const redis_pool *pool) { return pool->target.where; }

void redis_pool_set_started(redis_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    pool->started = 1;
    pthread_mutex_unlock(&pool->lock);
}

/* --- SIGPIPE ---------------------------------------------------------------------
 * hiredis writes with write(2), which raises SIGPIPE on a connection the server
 * closed; the default action would kill the gateway. As libpq does, block it on
 * this thread around the I/O and swallow one we caused. */

typedef struct sigpipe_guard {
    sigset_t previous;
    int was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *guard) {
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &guard->previous);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(const sigpipe_guard *guard) {
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    if (!guard->was_pending && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous, NULL);
}

/* --- Errors ------------------------------------------------------------------------ */

/* Call right after the failing hiredis call, before anything can change errno. */
static int32_t io_failure(const redis_pool *pool, const redisContext *c, int saved_errno, int64_t limit_ms,
                          pc_errbuf err) {
    int timed_out = c->err == REDIS_ERR_IO &&
                    (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
                     strstr(c->errstr, "timed out") || strstr(c->errstr, "temporarily unavailable"));
#ifdef REDIS_ERR_TIMEOUT
    timed_out = timed_out || c->err == REDIS_ERR_TIMEOUT;
#endif
    if (timed_out) {
        pc_errf(err, "redis %s: no answer within %lld ms", pool->target.where, (long long)limit_ms);
        return PC_ERR_TIMEOUT;
    }
    pc_errf(err, "redis %s: %s", pool->target.where, c->errstr[0] ? c->errstr : "connection error");
    if (c->err == REDIS_ERR_OOM) return PC_ERR_INTERNAL;
    if (c->err == REDIS_ERR_PROTOCOL) return PC_ERR_INTERNAL;
    return PC_ERR_UNAVAILABLE;
}

int32_t redis_check_reply(const redis_pool *pool, const redisReply *reply, int expected_type, const char *command,
                          pc_errbuf err) {
    if (reply->type == expected_type) return PC_OK;
    if (reply->type != REDIS_REPLY_ERROR) {
        pc_errf(err, "redis %s: unexpected reply type %d to %s", pool->target.where, reply->type, command);
        return PC_ERR_INTERNAL;
    }
    /* Error replies that mean "not now" rather than "this plugin is wrong". They
     * quote no argument, so no key or password can leak through them. */
    static const char *const transient[] = {"NOAUTH", "WRONGPASS", "LOADING", "READONLY", "MASTERDOWN",
                                            "BUSY",   "OOM",       "TRYAGAIN", "CLUSTERDOWN", "NOPERM"};
    int32_t status = PC_ERR_INTERNAL;
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        size_t n = strlen(transient[i]);
        if (reply->len >= n && memcmp(reply->str, transient[i], n) == 0) status = PC_ERR_UNAVAILABLE;
    }
    pc_errf(err, "redis %s: %s failed: %.*s", pool->target.where, command, (int)(reply->len > 160 ? 160 : reply->len),
            reply->str);
    return status;
}

/* --- Connecting ------------------------------------------------------------------ */

static int32_t simple_command(const redis_pool *pool, redisContext *c, int argc, const char **argv, const char *name,
                              pc_errbuf err) {
    size_t lens[3];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    redisReply *reply = redisCommandArgv(c, argc, argv, lens);
    if (!reply) return io_failure(pool, c, errno, pool->command_timeout_ms, err);
    int32_t status = redis_check_reply(pool, reply, REDIS_REPLY_STATUS, name, err);
    freeReplyObject(reply);
    return status;
}

/* A connected, authenticated context with the right database, or NULL and err. */
static redisContext *connect_context(const redis_pool *pool, int32_t *status, pc_errbuf err) {
    const redis_target *t = &pool->target;
    redisContext *c = t->is_unix ? redisConnectUnixWithTimeout(t->path, pool->connect_timeout)
                                 : redisConnectWithTimeout(t->host, t->port, pool->connect_timeout);
    int64_t connect_ms = (int64_t)pool->connect_timeout.tv_sec * 1000 + pool->connect_timeout.tv_usec / 1000;
    if (!c) {
        pc_errf(err, "redis %s: out of memory", t->where);
        *status = PC_ERR_INTERNAL;
        return NULL;
    }
    if (c->err) {
        *status = io_failure(pool, c, errno, connect_ms, err);
    } else if (redisSetTimeout(c, pool->command_timeout) != REDIS_OK) {
        *status = io_failure(pool, c, errno, connect_ms, err);
    } else {
        *status = PC_OK;
        if (!t->is_unix) redisEnableKeepAlive(c);
    }
    if (*status == PC_OK && t->password) {
        const char *argv[3] = {"AUTH", t->user ? t->user : t->password, t->password};
        *status = simple_command(pool, c, t->user ? 3 : 2, argv, "AUTH", err);
    }
    if (*status == PC_OK && t->db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%lld", (long long)t->db);
        const char *argv[2] = {"SELECT", db};
        *status = simple_command(pool, c, 2, argv, "SELECT", err);
    }
    if (*status != PC_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Connects the slot the caller holds, recording success or the backoff. */
static int32_t connect_slot(redis_pool *pool, redis_slot *slot, pc_errbuf err) {
    int32_t status;
    redisContext *c = connect_context(pool, &status, err);
    int log_down = 0, log_up = 0;
    pthread_mutex_lock(&pool->lock);
    if (c) {
        slot->ctx = c;
        slot->retry_at_ms = 0;
        slot->backoff_ms = BACKOFF_FIRST_MS;
        log_up = pool->down && pool->started;
        pool->down = 0;
    } else {
        slot->retry_at_ms = monotonic_ms() + slot->backoff_ms;
        slot->backoff_ms = slot->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : slot->backoff_ms * 2;
        log_down = !pool->down && pool->started;
        pool->down = 1;
        snprintf(pool->last_error, sizeof pool->last_error, "%s", err.buf ? err.buf : "");
    }
    pthread_mutex_unlock(&pool->lock);
    if (log_down)
        pc_logf(pool->host, PC_LOG_WARN, "%s; revocation calls fail until it answers (retrying with backoff)",
                err.buf ? err.buf : "redis unreachable");
    if (log_up) pc_logf(pool->host, PC_LOG_INFO, "redis %s: connected again", pool->target.where);
    return status;
}

/* --- Taking and giving back -------------------------------------------------------- */

static int32_t acquire(redis_pool *pool, redis_slot **out, pc_errbuf err) {
    int64_t deadline_ms = monotonic_ms() + pool->command_timeout_ms;
    struct timespec deadline = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000};
    int32_t status = PC_OK;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        int64_t now = monotonic_ms(), soonest_retry = INT64_MAX;
        int connected_busy = 0;
        redis_slot *pick = NULL;
        for (size_t i = 0; i < pool->size; i++) {
            redis_slot *slot = &pool->slots[i];
            if (slot->busy) {
                connected_busy |= slot->ctx != NULL;
            } else if (slot->ctx) {
                pick = slot; /* a live connection beats a new one */
                break;
            } else if (now >= slot->retry_at_ms) {
                if (!pick) pick = slot;
            } else if (slot->retry_at_ms < soonest_retry) {
                soonest_retry = slot->retry_at_ms;
            }
        }
        if (pick) {
            pick->busy = 1;
            *out = pick;
            break;
        }
        if (soonest_retry != INT64_MAX && !connected_busy) {
            pc_errf(err, "%s (next attempt in %lld ms)", pool->last_error, (long long)(soonest_retry - now));
            status = PC_ERR_UNAVAILABLE;
            break;
        }
        if (pthread_cond_timedwait(&pool->slot_freed, &pool->lock, &deadline) == ETIMEDOUT) {
            pc_errf(err, "redis %s: no free connection within %lld ms (pool_size %zu)", pool->target.where,
                    (long long)pool->command_timeout_ms, pool->size);
            status = PC_ERR_TIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return status;
}

static void release(redis_pool *pool, redis_slot *slot) {
    pthread_mutex_lock(&pool->lock);
    slot->busy = 0;
    pthread_cond_signal(&pool->slot_freed);
    pthread_mutex_unlock(&pool->lock);
}

/* One pipeline on a live context; on failure frees the replies it got. */
static int32_t pipeline(const redis_pool *pool, redisContext *c, const redis_command *commands, size_t count,
                        redisReply **replies, pc_errbuf err) {
    for (size_t i = 0; i < count; i++) {
        if (redisAppendCommandArgv(c, commands[i].argc, commands[i].argv, commands[i].lens) != REDIS_OK) {
            int saved_errno = errno;
            if (c->err) return io_failure(pool, c, saved_errno, pool->command_timeout_ms, err);
            /* Earlier commands may sit in the output buffer: the context must go. */
            c->err = REDIS_ERR_OOM;
            pc_errf(err, "redis %s: out of memory", pool->target.where);
            return PC_ERR_INTERNAL;
        }
    }
    for (size_t i = 0; i < count; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
            int32_t status = io_failure(pool, c, errno, pool->command_timeout_ms, err);
            for (size_t j = 0; j < i; j++) freeReplyObject(replies[j]);
            return status;
        }
        replies[i] = reply;
    }
    return PC_OK;
}

int32_t redis_pool_execute(redis_pool *pool, const redis_command *commands, size_t count, redisReply **replies,
                           pc_errbuf err) {
    redis_slot *slot;
    int32_t status = acquire(pool, &slot, err);
    if (status != PC_OK) return status;
    sigpipe_guard guard;
    sigpipe_block(&guard);
    for (int attempt = 0;; attempt++) {
        int reused = slot->ctx != NULL;
        if (!reused && (status = connect_slot(pool, slot, err)) != PC_OK) break;
        status = pipeline(pool, slot->ctx, commands, count, replies, err);
        if (!slot->ctx->err) break;
        /* The context is unusable now. A pooled one may simply have been closed by
         * a Redis restart or an idle timeout: try once more on a new connection
         * (every command this plugin sends is idempotent). */
        redisContext *broken = slot->ctx;
        pthread_mutex_lock(&pool->lock); /* acquire() reads ctx of busy slots */
        slot->ctx = NULL;
        pthread_mutex_unlock(&pool->lock);
        redisFree(broken);
        if (!reused || attempt > 0 || status != PC_ERR_UNAVAILABLE) break;
    }
    sigpipe_restore(&guard);
    release(pool, slot);
    return status;
}
