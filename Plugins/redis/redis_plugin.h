/*
 * redis_plugin.h — internals of the redis blocklist plugin, shared by its three
 * files: redis_url.c (the `url` config key), redis_pool.c (a pool of blocking
 * hiredis connections with reconnect backoff) and redis_plugin.c (the ABI).
 * Not part of any public interface.
 */
#ifndef PORTCULLIS_REDIS_PLUGIN_H
#define PORTCULLIS_REDIS_PLUGIN_H

#include "pc_support.h"

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* --- url ----------------------------------------------------------------------- */

/* Where and how to connect, parsed from `url`. */
typedef struct redis_target {
    int is_unix;
    char *host;     /* TCP: name or address, IPv6 without brackets */
    int port;       /* TCP */
    char *path;     /* unix socket */
    char *user;     /* NULL: AUTH with the password alone */
    char *password; /* NULL: no AUTH */
    int64_t db;     /* SELECT after connecting unless 0 */
    /* "host:port" or the socket path: the only way messages name the server, so
     * that no message can carry the password. */
    char where[288];
} redis_target;

/* Parses `redis://[[user]:password@]host[:port][/db]` or
 * `unix://[[user]:password@]/path[?db=N]`. On PC_ERR_INVALID err says what is
 * wrong without quoting the url (it may hold a password). */
int32_t redis_target_parse(const char *url, redis_target *out, pc_errbuf err);

/* Frees what redis_target_parse allocated, wiping the password. */
void redis_target_clear(redis_target *target);

/* --- pool ------------------------------------------------------------------------ */

typedef struct redis_pool redis_pool;

/* One command of a pipeline: argc binary-safe arguments. */
typedef struct redis_command {
    int argc;
    const char **argv;
    const size_t *lens;
} redis_command;

/* Takes ownership of *target (cleared on return, also on failure). No connection
 * is made yet. NULL when out of memory. */
redis_pool *redis_pool_create(const pc_host_api *host, redis_target *target, int64_t size, int64_t connect_timeout_ms,
                              int64_t command_timeout_ms);

/* Closes every connection. No call may be running. */
void redis_pool_destroy(redis_pool *pool);

/* "host:port" or the socket path. */
const char *redis_pool_where(const redis_pool *pool);

/* After the first call: log connection losses and recoveries through the host. */
void redis_pool_set_started(redis_pool *pool);

/* Sends `count` commands in one round trip on a pooled connection (connecting it
 * first if needed, and retrying once on a fresh connection when a reused one turns
 * out to be closed). On PC_OK replies[0..count) are the replies, owned by the
 * caller (freeReplyObject each); they may be Redis error replies. On failure no
 * reply is left and err names the server:
 * PC_ERR_UNAVAILABLE (refused, closed, authentication, reconnect backoff),
 * PC_ERR_TIMEOUT (no free connection or no answer in command_timeout_ms),
 * PC_ERR_INTERNAL (out of memory, protocol error). */
int32_t redis_pool_execute(redis_pool *pool, const redis_command *commands, size_t count, redisReply **replies,
                           pc_errbuf err);

/* PC_OK, or the status and message for a Redis error reply or a reply that is not
 * of `expected_type` (REDIS_REPLY_*), naming `command`. */
int32_t redis_check_reply(const redis_pool *pool, const redisReply *reply, int expected_type, const char *command,
                          pc_errbuf err);

#endif /* PORTCULLIS_REDIS_PLUGIN_H */
