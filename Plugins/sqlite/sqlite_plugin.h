/*
 * sqlite_plugin.h — internal to the sqlite blocklist plugin: one SQLite connection
 * with its prepared statements, the schema, and the mapping of SQLite result codes
 * to plugin statuses. Not part of the plugin ABI.
 */
#ifndef PORTCULLIS_SQLITE_PLUGIN_H
#define PORTCULLIS_SQLITE_PLUGIN_H

#include "portcullis_plugin.h"

#include <sqlite3.h>
#include <stdint.h>

/* The schema version this plugin writes into PRAGMA user_version. */
#define SQ_SCHEMA_VERSION 1

/* Rows deleted per sweep statement, so the sweep holds the write lock briefly
 * (a revoke() waiting behind it waits for one batch, not for the whole sweep). */
#define SQ_SWEEP_BATCH 1000

/* The statements every connection prepares once and reuses. */
enum sq_statement {
    SQ_CHECK,           /* ?1 jti, ?2 now, ?3 sub, ?4 iat -> one row: 0 or 1 */
    SQ_REVOKE,          /* ?1 jti, ?2 sub, ?3 expires_at, ?4 revoked_at */
    SQ_REVOKE_SUBJECT,  /* ?1 sub, ?2 revoked_at, ?3 expires_at */
    SQ_HEALTH,          /* one row */
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SWEEP_JTI,       /* ?1 now, ?2 SQ_SWEEP_BATCH */
    SQ_SWEEP_SUBJECT,   /* ?1 now, ?2 SQ_SWEEP_BATCH */
    SQ_STATEMENT_COUNT
};

/* One connection. Used by one thread at a time (the pool hands it out), which is
 * why it is opened with SQLITE_OPEN_NOMUTEX. */
typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_STATEMENT_COUNT];
    struct sq_conn *next_free; /* the pool's free list */
} sq_conn;

/* Opens `path` (creating the file if missing), sets busy_timeout and
 * synchronous=NORMAL. Statements are not prepared yet: the schema may not exist. */
int32_t sq_conn_open(sq_conn *conn, const char *path, int busy_timeout_ms, pc_errbuf err);

/* Prepares every statement of enum sq_statement (the schema must exist). */
int32_t sq_conn_prepare(sq_conn *conn, const char *path, pc_errbuf err);

/* Finalizes the statements and closes the connection. Safe on a zeroed conn. */
void sq_conn_close(sq_conn *conn);

/* Switches the file to WAL and creates or upgrades the schema to
 * SQ_SCHEMA_VERSION in one transaction. PC_ERR_INVALID for a newer schema. */
int32_t sq_schema_migrate(const pc_host_api *host, sq_conn *conn, const char *path, pc_errbuf err);

/* PC_ERR_UNAVAILABLE for SQLITE_BUSY/SQLITE_LOCKED, PC_ERR_INTERNAL otherwise. */
int32_t sq_status(int rc);

/* Writes "sqlite: <what>: <sqlite3_errmsg>" into err and returns sq_status(rc).
 * Call it right after the failing sqlite3 call, before the message is replaced. */
int32_t sq_fail(sq_conn *conn, int rc, const char *what, pc_errbuf err);

/* Steps a statement that returns no rows (or whose rows are ignored), then resets
 * it and clears its bindings. Returns the sqlite result code. */
int sq_run(sqlite3_stmt *stmt);

#endif /* PORTCULLIS_SQLITE_PLUGIN_H */
