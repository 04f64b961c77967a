/*
 * The sqlite blocklist plugin: revocations in a SQLite file that survives restarts
 * (SPEC section 7). Config keys: path (default "revoked.db", relative to config_dir),
 * sweep_interval (seconds, default 60), busy_timeout_ms (default 5000).
 *
 * Concurrency: a fixed pool of SQ_POOL_SIZE connections, each with its own prepared
 * statements, handed to one calling thread at a time under a mutex and condition
 * variable. The file is in WAL mode, so every reader works on its own snapshot: checks
 * on different connections run in parallel and never wait for a writer. Writers
 * (revoke, the sweep) are serialized by SQLite itself, waiting up to busy_timeout_ms.
 * The sweeper thread has a connection of its own, so it never takes a slot from the
 * request path, and deletes in batches of SQ_SWEEP_BATCH rows so a revoke() queued
 * behind it waits for one short transaction, not the whole sweep. One connection
 * behind a single mutex would be simpler but would make every check wait for any
 * revoke or sweep in progress.
 */
#include "sqlite_plugin.h"

#include "pc_support.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SQ_POOL_SIZE 4

struct pc_instance {
    const pc_host_api *host; /* host-owned, valid until destroy() returns */
    char *path;              /* owned: the resolved database path */
    pthread_mutex_t lock;    /* guards free_list */
    pthread_cond_t available;
    sq_conn *free_list;
    sq_conn pool[SQ_POOL_SIZE];
    sq_conn sweep_conn;      /* used only by the sweeper thread */
    pc_sweeper *sweeper;
};

/* --- Pool ----------------------------------------------------------------------- */

static sq_conn *acquire(pc_instance *inst) {
    pthread_mutex_lock(&inst->lock);
    while (inst->free_list == NULL) pthread_cond_wait(&inst->available, &inst->lock);
    sq_conn *conn = inst->free_list;
    inst->free_list = conn->next_free;
    pthread_mutex_unlock(&inst->lock);
    return conn;
}

static void release(pc_instance *inst, sq_conn *conn) {
    pthread_mutex_lock(&inst->lock);
    conn->next_free = inst->free_list;
    inst->free_list = conn;
    pthread_cond_signal(&inst->available);
    pthread_mutex_unlock(&inst->lock);
}

/* --- Binding ---------------------------------------------------------------------- */

/* Binds a borrowed string without copying: SQLITE_STATIC is safe because every
 * statement is stepped, reset and cleared before the call returns. An absent string
 * (ptr NULL) is SQL NULL, which equals nothing. */
static int bind_str(sqlite3_stmt *stmt, int index, pc_str value) {
    if (value.ptr == NULL) return sqlite3_bind_null(stmt, index);
    if (value.len > INT_MAX) return SQLITE_TOOBIG;
    return sqlite3_bind_text(stmt, index, value.ptr, (int)value.len, SQLITE_STATIC);
}

/* INT64_MIN (no time) is stored as NULL: the row never expires. */
static int bind_expiry(sqlite3_stmt *stmt, int index, int64_t time) {
    return time == INT64_MIN ? sqlite3_bind_null(stmt, index) : sqlite3_bind_int64(stmt, index, time);
}

static void finish(sqlite3_stmt *stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* --- Calls ------------------------------------------------------------------------ */

static int32_t check_one(sq_conn *conn, const pc_token *tok, int64_t now, int32_t *verdict, pc_errbuf err) {
    sqlite3_stmt *stmt = conn->stmt[SQ_CHECK];
    int rc = bind_str(stmt, 1, tok->jti);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 2, now);
    if (rc == SQLITE_OK) rc = bind_str(stmt, 3, tok->sub);
    /* A token without iat (INT64_MIN) counts as issued before any subject entry. */
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 4, tok->iat);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    int32_t status = PC_OK;
    if (rc == SQLITE_ROW) {
        *verdict = sqlite3_column_int(stmt, 0) ? PC_REVOKED : PC_NOT_REVOKED;
    } else {
        status = sq_fail(conn, rc, "is_revoked", err);
    }
    finish(stmt);
    return status;
}

static int32_t sqlite_is_revoked(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err) {
    sq_conn *conn = acquire(inst);
    int32_t status = check_one(conn, tok, pc_now_unix(), verdict, err);
    release(inst, conn);
    return status;
}

/* All checks read one snapshot: a revoke committed meanwhile is seen by all or none. */
static int32_t sqlite_is_revoked_batch(pc_instance *inst, const pc_token *toks, size_t n, int32_t *verdicts,
                                       pc_errbuf err) {
    if (n == 0) return PC_OK;
    sq_conn *conn = acquire(inst);
    int64_t now = pc_now_unix();
    int32_t status = PC_OK;
    int rc = sq_run(conn->stmt[SQ_BEGIN]);
    if (rc != SQLITE_DONE) status = sq_fail(conn, rc, "is_revoked_batch", err);
    for (size_t i = 0; status == PC_OK && i < n; i++) status = check_one(conn, &toks[i], now, &verdicts[i], err);
    if (status == PC_OK) {
        rc = sq_run(conn->stmt[SQ_COMMIT]);
        if (rc != SQLITE_DONE) status = sq_fail(conn, rc, "is_revoked_batch", err);
    }
    if (status != PC_OK && !sqlite3_get_autocommit(conn->db)) sq_run(conn->stmt[SQ_ROLLBACK]);
    release(inst, conn);
    return status;
}

static int32_t sqlite_revoke(pc_instance *inst, const pc_token *tok, pc_errbuf err) {
    if (tok->jti.ptr == NULL || tok->jti.len == 0) {
        pc_errf(err, "sqlite: revoke: the jti is empty");
        return PC_ERR_INVALID;
    }
    sq_conn *conn = acquire(inst);
    sqlite3_stmt *stmt = conn->stmt[SQ_REVOKE];
    int rc = bind_str(stmt, 1, tok->jti);
    if (rc == SQLITE_OK) rc = bind_str(stmt, 2, tok->sub);
    if (rc == SQLITE_OK) rc = bind_expiry(stmt, 3, tok->exp);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 4, pc_now_unix());
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    int32_t status = rc == SQLITE_DONE ? PC_OK : sq_fail(conn, rc, "revoke", err);
    finish(stmt);
    release(inst, conn);
    return status;
}

static int32_t sqlite_revoke_subject(pc_instance *inst, pc_str sub, int64_t at, int64_t until, pc_errbuf err) {
    if (sub.ptr == NULL || sub.len == 0) {
        pc_errf(err, "sqlite: revoke_subject: the subject is empty");
        return PC_ERR_INVALID;
    }
    sq_conn *conn = acquire(inst);
    sqlite3_stmt *stmt = conn->stmt[SQ_REVOKE_SUBJECT];
    int rc = bind_str(stmt, 1, sub);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 2, at);
    if (rc == SQLITE_OK) rc = bind_expiry(stmt, 3, until);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    int32_t status = rc == SQLITE_DONE ? PC_OK : sq_fail(conn, rc, "revoke_subject", err);
    finish(stmt);
    release(inst, conn);
    return status;
}

static int32_t sqlite_health(pc_instance *inst, pc_errbuf err) {
    sq_conn *conn = acquire(inst);
    sqlite3_stmt *stmt = conn->stmt[SQ_HEALTH];
    int rc = sqlite3_step(stmt);
    int32_t status = rc == SQLITE_ROW ? PC_OK : sq_fail(conn, rc, "health", err);
    finish(stmt);
    release(inst, conn);
    return status;
}

/* --- Sweep ------------------------------------------------------------------------ */

/* Deletes expired rows in batches; returns how many, or -1 after logging an error. */
static int64_t sweep_table(pc_instance *inst, int which, int64_t now) {
    sq_conn *conn = &inst->sweep_conn;
    sqlite3_stmt *stmt = conn->stmt[which];
    int64_t total = 0;
    for (;;) {
        sqlite3_bind_int64(stmt, 1, now);
        sqlite3_bind_int(stmt, 2, SQ_SWEEP_BATCH);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE) {
            pc_logf(inst->host, PC_LOG_WARN, "sqlite: sweeping %s failed: %s", inst->path, sqlite3_errmsg(conn->db));
            finish(stmt);
            return -1;
        }
        int changes = sqlite3_changes(conn->db);
        finish(stmt);
        total += changes;
        if (changes < SQ_SWEEP_BATCH) return total;
    }
}

static void sweep(void *ctx) {
    pc_instance *inst = ctx;
    int64_t now = pc_now_unix();
    int64_t tokens = sweep_table(inst, SQ_SWEEP_JTI, now);
    int64_t subjects = sweep_table(inst, SQ_SWEEP_SUBJECT, now);
    if (tokens > 0) pc_logf(inst->host, PC_LOG_DEBUG, "sqlite: swept %lld expired revocations", (long long)tokens);
    if (subjects > 0) {
        pc_logf(inst->host, PC_LOG_DEBUG, "sqlite: swept %lld expired subject entries", (long long)subjects);
    }
}

/* --- Lifecycle -------------------------------------------------------------------- */

static void sqlite_destroy(pc_instance *inst) {
    if (!inst) return;
    /* Joined first: after this no thread of ours touches a connection or the host. */
    pc_sweeper_stop(inst->sweeper);
    for (int i = 0; i < SQ_POOL_SIZE; i++) sq_conn_close(&inst->pool[i]);
    sq_conn_close(&inst->sweep_conn);
    pthread_cond_destroy(&inst->available);
    pthread_mutex_destroy(&inst->lock);
    free(inst->path);
    free(inst);
}

/* SQLite would only say "unable to open database file"; name the missing folder. */
static int32_t check_directory(const char *path, pc_errbuf err) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path) return PC_OK;
    size_t length = (size_t)(slash - path);
    char *directory = malloc(length + 1);
    if (!directory) {
        pc_errf(err, "sqlite: out of memory");
        return PC_ERR_INTERNAL;
    }
    memcpy(directory, path, length);
    directory[length] = '\0';
    struct stat info;
    int32_t status = PC_OK;
    int found = stat(directory, &info) == 0;
    int error = errno;
    if (!found && error != ENOENT && error != ENOTDIR) {
        pc_errf(err, "sqlite: cannot create %s: directory %s: %s", path, directory, strerror(error));
        status = PC_ERR_INVALID;
    } else if (!found || !S_ISDIR(info.st_mode)) {
        pc_errf(err, "sqlite: cannot create %s: directory %s does not exist", path, directory);
        status = PC_ERR_INVALID;
    }
    free(directory);
    return status;
}

static int32_t open_connections(pc_instance *inst, int busy_timeout_ms, pc_errbuf err) {
    /* The first connection migrates the schema; the statements need its tables. */
    int32_t status = sq_conn_open(&inst->pool[0], inst->path, busy_timeout_ms, err);
    if (status == PC_OK) status = sq_schema_migrate(inst->host, &inst->pool[0], inst->path, err);
    if (status == PC_OK) status = sq_conn_prepare(&inst->pool[0], inst->path, err);
    for (int i = 1; status == PC_OK && i < SQ_POOL_SIZE; i++) {
        status = sq_conn_open(&inst->pool[i], inst->path, busy_timeout_ms, err);
        if (status == PC_OK) status = sq_conn_prepare(&inst->pool[i], inst->path, err);
    }
    if (status == PC_OK) status = sq_conn_open(&inst->sweep_conn, inst->path, busy_timeout_ms, err);
    if (status == PC_OK) status = sq_conn_prepare(&inst->sweep_conn, inst->path, err);
    for (int i = SQ_POOL_SIZE - 1; status == PC_OK && i >= 0; i--) release(inst, &inst->pool[i]);
    return status;
}

static int32_t sqlite_create(const pc_host_api *host, pc_str config_json, pc_instance **out, pc_errbuf err) {
    static const char *const keys[] = {"path", "sweep_interval", "busy_timeout_ms"};
    pc_config *config = NULL;
    const char *path = NULL, *config_dir = NULL;
    int64_t sweep_interval = 0, busy_timeout_ms = 0;
    int32_t status = pc_config_parse(config_json, &config, err);
    if (status != PC_OK) return status;
    if ((status = pc_config_check_keys(config, keys, sizeof keys / sizeof keys[0], err)) != PC_OK ||
        (status = pc_config_string(config, "path", "revoked.db", &path, err)) != PC_OK ||
        (status = pc_config_string(config, "config_dir", NULL, &config_dir, err)) != PC_OK ||
        (status = pc_config_int(config, "sweep_interval", 60, 1, INT32_MAX, &sweep_interval, err)) != PC_OK ||
        (status = pc_config_int(config, "busy_timeout_ms", 5000, 0, INT32_MAX, &busy_timeout_ms, err)) != PC_OK) {
        pc_config_free(config);
        return status;
    }
    if (path[0] == '\0') {
        pc_config_free(config);
        pc_errf(err, "sqlite: config key 'path' must not be empty");
        return PC_ERR_INVALID;
    }
    if (!sqlite3_threadsafe()) {
        pc_config_free(config);
        pc_errf(err, "sqlite: libsqlite3 %s was built without thread support", sqlite3_libversion());
        return PC_ERR_INTERNAL;
    }
    pc_instance *inst = calloc(1, sizeof *inst);
    char *resolved = pc_resolve_path(config_dir, path);
    pc_config_free(config);
    if (!inst || !resolved) {
        free(inst);
        free(resolved);
        pc_errf(err, "sqlite: out of memory");
        return PC_ERR_INTERNAL;
    }
    inst->host = host;
    inst->path = resolved;
    pthread_mutex_init(&inst->lock, NULL);
    pthread_cond_init(&inst->available, NULL);
    status = check_directory(inst->path, err);
    if (status == PC_OK) status = open_connections(inst, (int)busy_timeout_ms, err);
    if (status == PC_OK && (inst->sweeper = pc_sweeper_start(sweep_interval, sweep, inst)) == NULL) {
        pc_errf(err, "sqlite: cannot start the sweeper thread");
        status = PC_ERR_INTERNAL;
    }
    if (status != PC_OK) {
        sqlite_destroy(inst);
        return status;
    }
    pc_logf(host, PC_LOG_INFO, "sqlite: using %s (SQLite %s, sweep every %llds)", inst->path, sqlite3_libversion(),
            (long long)sweep_interval);
    *out = inst;
    return PC_OK;
}

static const pc_blocklist_plugin sqlite_descriptor = {
    .abi_major = PC_PLUGIN_ABI_MAJOR,
    .abi_minor = PC_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(pc_blocklist_plugin),
    .name = "sqlite",
    .version = "1.0.0",
    .capabilities = PC_CAP_THREADSAFE | PC_CAP_SUBJECT | PC_CAP_BATCH,
    .create = sqlite_create,
    .destroy = sqlite_destroy,
    .health = sqlite_health,
    .is_revoked = sqlite_is_revoked,
    .revoke = sqlite_revoke,
    .revoke_subject = sqlite_revoke_subject,
    .is_revoked_batch = sqlite_is_revoked_batch,
};

PC_EXPORT int32_t portcullis_blocklist_plugin_v1(const pc_host_api *host, pc_blocklist_plugin *out, size_t out_size) {
    (void)host;
    return pc_describe(&sqlite_descriptor, out, out_size);
}
