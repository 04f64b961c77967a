/* One SQLite connection of the sqlite plugin: opening, the prepared statements,
 * the schema and its migrations, and error mapping. */
#include "sqlite_plugin.h"

#include "pc_support.h"

#include <stdio.h>
#include <string.h>

/* Indexed by enum sq_statement. NULL expires_at means "never expires": the host
 * passes INT64_MIN for a token without exp and the plugin has no limit of its own. */
static const char *const statement_sql[SQ_STATEMENT_COUNT] = {
    [SQ_CHECK] =
        "SELECT EXISTS (SELECT 1 FROM revocations WHERE jti = ?1 AND (expires_at IS NULL OR expires_at > ?2))"
        " OR EXISTS (SELECT 1 FROM subjects WHERE sub = ?3 AND revoked_at >= ?4"
        " AND (expires_at IS NULL OR expires_at > ?2))",
    /* Revoking again keeps the later expiry (NULL, never, wins) and the newer time. */
    [SQ_REVOKE] =
        "INSERT INTO revocations (jti, sub, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (jti) DO UPDATE SET"
        " sub = coalesce(excluded.sub, revocations.sub),"
        " expires_at = CASE WHEN revocations.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL"
        " ELSE max(revocations.expires_at, excluded.expires_at) END,"
        " revoked_at = excluded.revoked_at",
    /* A later `at` replaces an earlier one; an earlier one never narrows it. */
    [SQ_REVOKE_SUBJECT] =
        "INSERT INTO subjects (sub, revoked_at, expires_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (sub) DO UPDATE SET"
        " revoked_at = max(subjects.revoked_at, excluded.revoked_at),"
        " expires_at = CASE WHEN subjects.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL"
        " ELSE max(subjects.expires_at, excluded.expires_at) END",
    [SQ_HEALTH] = "SELECT count(*) FROM sqlite_master",
    [SQ_BEGIN] = "BEGIN",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SWEEP_JTI] =
        "DELETE FROM revocations WHERE jti IN"
        " (SELECT jti FROM revocations WHERE expires_at <= ?1 LIMIT ?2)",
    [SQ_SWEEP_SUBJECT] =
        "DELETE FROM subjects WHERE sub IN"
        " (SELECT sub FROM subjects WHERE expires_at <= ?1 LIMIT ?2)",
};

/* Version 1. The expires_at indexes keep the sweep from scanning whole tables. */
static const char schema_v1[] =
    "CREATE TABLE revocations ("
    " jti TEXT PRIMARY KEY, sub TEXT, expires_at INTEGER, revoked_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX revocations_expires_at ON revocations (expires_at);"
    "CREATE TABLE subjects ("
    " sub TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL, expires_at INTEGER) WITHOUT ROWID;"
    "CREATE INDEX subjects_expires_at ON subjects (expires_at);"
    "PRAGMA user_version = 1;";

int32_t sq_status(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return PC_ERR_UNAVAILABLE;
    default: return PC_ERR_INTERNAL;
    }
}

int32_t sq_fail(sq_conn *conn, int rc, const char *what, pc_errbuf err) {
    const char *message = conn && conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc);
    pc_errf(err, "sqlite: %s: %s", what, message);
    return sq_status(rc);
}

int sq_run(sqlite3_stmt *stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

int32_t sq_conn_open(sq_conn *conn, const char *path, int busy_timeout_ms, pc_errbuf err) {
    memset(conn, 0, sizeof *conn);
    /* NOMUTEX: the pool gives a connection to one thread at a time, so SQLite's own
     * per-connection mutex would only add cost. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &conn->db, flags, NULL);
    if (rc != SQLITE_OK) {
        pc_errf(err, "sqlite: cannot open %s: %s", path, conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc));
        sq_conn_close(conn);
        return rc == SQLITE_CANTOPEN ? PC_ERR_INVALID : sq_status(rc);
    }
    sqlite3_busy_timeout(conn->db, busy_timeout_ms);
    /* NORMAL is durable against process crashes in WAL mode; only an OS crash or
     * power loss can lose the last commits. */
    rc = sqlite3_exec(conn->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int32_t status = sq_fail(conn, rc, path, err);
        sq_conn_close(conn);
        return status;
    }
    return PC_OK;
}

int32_t sq_conn_prepare(sq_conn *conn, const char *path, pc_errbuf err) {
    for (int i = 0; i < SQ_STATEMENT_COUNT; i++) {
        int rc = sqlite3_prepare_v3(conn->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &conn->stmt[i],
                                    NULL);
        if (rc != SQLITE_OK) {
            pc_errf(err, "sqlite: %s: preparing statements: %s", path, sqlite3_errmsg(conn->db));
            return sq_status(rc);
        }
    }
    return PC_OK;
}

void sq_conn_close(sq_conn *conn) {
    for (int i = 0; i < SQ_STATEMENT_COUNT; i++) {
        sqlite3_finalize(conn->stmt[i]);
        conn->stmt[i] = NULL;
    }
    /* Every statement is finalized, so close cannot be left pending. */
    sqlite3_close(conn->db);
    conn->db = NULL;
}

/* Reads PRAGMA user_version into *version. */
static int read_user_version(sq_conn *conn, int64_t *version) {
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(conn->db, "PRAGMA user_version", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *version = sqlite3_column_int64(stmt, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Runs a journal_mode pragma and copies the mode it reports into `mode`. */
static int journal_mode(sq_conn *conn, const char *sql, char *mode, size_t cap) {
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        snprintf(mode, cap, "%s", text ? (const char *)text : "unknown");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int32_t newer_schema(const char *path, int64_t version, pc_errbuf err) {
    pc_errf(err, "sqlite: %s: database schema version %lld is newer than this plugin (%d)", path, (long long)version,
            SQ_SCHEMA_VERSION);
    return PC_ERR_INVALID;
}

int32_t sq_schema_migrate(const pc_host_api *host, sq_conn *conn, const char *path, pc_errbuf err) {
    int64_t version = 0;
    /* Checked before switching to WAL, so a newer database is left exactly as it is. */
    int rc = read_user_version(conn, &version);
    if (rc != SQLITE_OK) return sq_fail(conn, rc, path, err);
    if (version > SQ_SCHEMA_VERSION) return newer_schema(path, version, err);

    /* WAL lets readers go on while one connection writes. The mode is stored in the
     * file, and cannot change inside a transaction, so it comes first. Asking before
     * setting it keeps a restart from waiting on another process's write lock. */
    char mode[16];
    rc = journal_mode(conn, "PRAGMA journal_mode", mode, sizeof mode);
    if (rc == SQLITE_OK && strcmp(mode, "wal") != 0) {
        rc = journal_mode(conn, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    }
    if (rc != SQLITE_OK) return sq_fail(conn, rc, path, err);
    if (strcmp(mode, "wal") != 0) {
        pc_logf(host, PC_LOG_WARN, "sqlite: %s: journal mode is %s, not wal; readers may wait for writers", path, mode);
    }
    if (version == SQ_SCHEMA_VERSION) return PC_OK;

    /* IMMEDIATE takes the write lock now, so two processes opening a new file at the
     * same time migrate it once: the second sees the first's user_version. */
    rc = sqlite3_exec(conn->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sq_fail(conn, rc, path, err);
    rc = read_user_version(conn, &version);
    if (rc == SQLITE_OK && version > SQ_SCHEMA_VERSION) {
        sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
        return newer_schema(path, version, err);
    }
    if (rc == SQLITE_OK && version == 0) {
        rc = sqlite3_exec(conn->db, schema_v1, NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            pc_logf(host, PC_LOG_INFO, "sqlite: %s: created schema version %d", path, SQ_SCHEMA_VERSION);
        }
    }
    /* Later versions add `if (version < N)` steps here, each ending in user_version = N. */
    if (rc == SQLITE_OK) rc = sqlite3_exec(conn->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int32_t status = sq_fail(conn, rc, path, err);
        sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
        return status;
    }
    return PC_OK;
}
