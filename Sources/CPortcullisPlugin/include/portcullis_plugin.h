/*
 * portcullis_plugin.h — the Portcullis blocklist plugin ABI, version 1.0.
 *
 * A blocklist plugin is a shared object that the Portcullis gateway loads with
 * dlopen(RTLD_NOW | RTLD_LOCAL). It answers one question on every authenticated
 * request ("was this token revoked?") and records revocations made by /logout,
 * the admin API and `portcullis revoke`.
 *
 * This header is the whole contract. A plugin needs nothing else: no host library
 * to link against, no other header. Everything the plugin may call on the host
 * comes in the pc_host_api table. Build a plugin with, for example:
 *
 *     cc -std=c99 -O2 -shared -fPIC -o libmyblocklist.so myblocklist.c
 *
 * and name it in gateway.yaml:
 *
 *     blocklist:
 *       plugin: /opt/portcullis/libmyblocklist.so
 *       config: { any: "mapping", handed: "to create() as JSON" }
 *
 * ---------------------------------------------------------------------------
 * Rules across the boundary
 * ---------------------------------------------------------------------------
 * - C99, fixed-width integers only: no C enums, no bool. Statuses, verdicts and
 *   log levels are int32_t; capabilities are uint32_t bits.
 * - Versioning: a minor version only appends fields to the end of a struct, and
 *   every struct that can grow carries its struct_size. A major version renames
 *   the entry symbol (portcullis_blocklist_plugin_v2, ...), so a plugin built for
 *   another major version is never called by mistake.
 * - Strings (pc_str) are pointer + length, NOT NUL-terminated, and borrowed: they
 *   are valid only until the function they were passed to returns. Copy what you
 *   keep.
 * - Error messages: every function that can fail gets a pc_errbuf owned by the
 *   caller. On failure, write a short NUL-terminated, human-readable message into
 *   it (truncate to cap - 1 bytes, e.g. with snprintf). The host prints it next to
 *   the plugin path. Never put a token or a secret in a message.
 *
 * ---------------------------------------------------------------------------
 * Lifecycle
 * ---------------------------------------------------------------------------
 * 1. dlopen, then dlsym("portcullis_blocklist_plugin_v1").
 * 2. The host calls the entry once with its pc_host_api; the plugin fills the
 *    pc_blocklist_plugin descriptor. The host refuses the plugin when abi_major
 *    differs from its own, when struct_size is smaller than the ABI 1.0
 *    descriptor, when a required function is NULL, or when a capability bit
 *    promises an optional function that is NULL. A plugin built for a newer
 *    minor version is accepted (the host ignores fields it does not know); such
 *    a plugin checks pc_host_api.struct_size before using a host field added
 *    after 1.0.
 * 3. create() once per gateway.yaml `blocklist` section: at start-up, and again
 *    when a reload changes that section (the old instance is then destroyed after
 *    the new one is in service and the last request using it has finished).
 * 4. health(), is_revoked(), is_revoked_batch(), revoke(), revoke_subject() any
 *    number of times, on the threads described below.
 * 5. destroy() at shutdown or when a reload replaces the instance. After destroy()
 *    returns, the host never calls into that instance again, and destroy() must
 *    only return once no thread or callback of the plugin can still touch the
 *    host (join your sweeper threads, close your sockets).
 * 6. dlclose, unless the descriptor has PC_CAP_NO_UNLOAD (set it when your
 *    library, or a library it uses, cannot be unloaded safely).
 *
 * ---------------------------------------------------------------------------
 * Threads
 * ---------------------------------------------------------------------------
 * - With PC_CAP_NONBLOCKING, the host calls is_revoked()/is_revoked_batch() and
 *   revoke()/revoke_subject() directly on its network event-loop threads. Only set
 *   it if every such call returns in microseconds without I/O, sleeping, or
 *   waiting on a lock held across I/O: a blocked event loop stalls every
 *   connection it serves.
 * - Without PC_CAP_NONBLOCKING, the host calls those functions on a bounded pool
 *   of worker threads, never on an event loop, and bounds each revocation check
 *   with `blocklist.timeout`. A call that overruns is answered on the request
 *   path per `blocklist.on_error`; the call itself is not interrupted, so return
 *   eventually (use your own I/O timeouts).
 * - With PC_CAP_THREADSAFE, one instance may be called from several threads at
 *   the same time. Without it, the host serializes every call on an instance.
 * - create(), health() and destroy() are called from a worker or the main thread,
 *   never concurrently with destroy() of the same instance.
 * - pc_host_api functions may be called from any thread, including threads the
 *   plugin started, until destroy() returns.
 *
 * ---------------------------------------------------------------------------
 * What the host does with a status
 * ---------------------------------------------------------------------------
 * On a request, anything but PC_OK from is_revoked()/is_revoked_batch() (and a
 * call that overruns blocklist.timeout) is a revocation failure: with
 * `on_error: deny` the request is refused with 503 revocation_unavailable, with
 * `on_error: allow` it is forwarded, logged and counted. From revoke() and
 * revoke_subject(), any failure is 503 on /logout and the admin API and exit
 * code 2 from `portcullis revoke`. From create(), the gateway does not start
 * (exit 2; `portcullis check` exits 1). From health(), the gateway reports not
 * ready on /readyz and keeps serving.
 */
#ifndef PORTCULLIS_PLUGIN_H
#define PORTCULLIS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version. The host checks both against the descriptor a plugin fills in. */
#define PC_PLUGIN_ABI_MAJOR 1
#define PC_PLUGIN_ABI_MINOR 0

/* Exports the entry symbol from a library built with -fvisibility=hidden too. */
#if defined(__GNUC__) || defined(__clang__)
#define PC_EXPORT __attribute__((visibility("default")))
#else
#define PC_EXPORT
#endif

/* --- Statuses (int32_t) returned by every plugin function that can fail ---- */

/* Success; any out-parameter has been written. */
#define PC_OK 0
/* The input is not acceptable: bad config JSON in create(), an empty jti. Not
 * retried by the host. */
#define PC_ERR_INVALID 1
/* The backend cannot be reached right now (connection refused, pool empty,
 * database locked). The host may retry on a later request. */
#define PC_ERR_UNAVAILABLE 2
/* The backend did not answer within the plugin's own time limit. */
#define PC_ERR_TIMEOUT 3
/* The operation is not implemented by this plugin (e.g. revoke_subject without
 * PC_CAP_SUBJECT). /logout?all=true answers 501 not_supported. */
#define PC_ERR_UNSUPPORTED 4
/* A bug or resource exhaustion inside the plugin (out of memory, ...). */
#define PC_ERR_INTERNAL 5

/* --- Verdicts (int32_t) written by is_revoked()/is_revoked_batch() --------- */

#define PC_NOT_REVOKED 0
#define PC_REVOKED 1

/* --- Log levels (int32_t) for pc_host_api.log --------------------------------- */

#define PC_LOG_DEBUG 1
#define PC_LOG_INFO 2
#define PC_LOG_WARN 3
#define PC_LOG_ERROR 4

/* --- Capabilities (uint32_t bits) in pc_blocklist_plugin.capabilities ------- */

/* Every call returns in microseconds without blocking: the host may call it on its
 * event-loop threads. Without this bit, calls run on worker threads. */
#define PC_CAP_NONBLOCKING 1u
/* One instance may be called from several threads at once. Without this bit the
 * host serializes all calls on an instance. */
#define PC_CAP_THREADSAFE 2u
/* revoke_subject() is implemented and is_revoked() honours subject entries. */
#define PC_CAP_SUBJECT 4u
/* is_revoked_batch() is implemented: the host hands checks that wait at the same
 * moment to the backend in one call. */
#define PC_CAP_BATCH 8u
/* The host never dlcloses this library. */
#define PC_CAP_NO_UNLOAD 16u

/* --- Types -------------------------------------------------------------------- */

/* A borrowed byte string, NOT NUL-terminated, valid only during the call it was
 * passed to. An absent value has ptr == NULL and len == 0. */
typedef struct pc_str {
    const char *ptr;
    size_t len;
} pc_str;

/* A caller-owned buffer for an error message. On failure the plugin writes a
 * NUL-terminated message of at most cap - 1 bytes (cap is at least 256). On
 * success it may leave the buffer untouched. buf is valid during the call only. */
typedef struct pc_errbuf {
    char *buf;
    size_t cap;
} pc_errbuf;

/* The verified token a call is about. All of it is borrowed for the call.
 * - jti: the token's `jti` claim; never absent in is_revoked() and revoke().
 * - sub: the `sub` claim; ptr == NULL when the token has none.
 * - iat: the `iat` claim in Unix seconds; INT64_MIN when absent.
 * - exp: in revoke(), the Unix second until which the jti must be remembered:
 *        the token's `exp` plus the configured leeway, or INT64_MAX for a token
 *        without `exp` (remember it for good); in is_revoked(), the token's `exp`,
 *        or INT64_MIN when it has none.
 * A token without a `jti` claim is identified by "sha256:" followed by the
 * base64url SHA-256 of its compact serialization, so jti is never empty.
 * A plugin with PC_CAP_SUBJECT answers PC_REVOKED when `sub` has a subject
 * entry made at or after `iat` (a token without iat counts as issued before). */
typedef struct pc_token {
    pc_str jti;
    pc_str sub;
    int64_t iat;
    int64_t exp;
} pc_token;

/* Opaque, plugin-owned state of one created instance. */
typedef struct pc_instance pc_instance;

/* What the host offers the plugin. Owned by the host; valid from the entry call
 * until destroy() of the last instance returns. Every function is callable from
 * any thread at any time in that span. Check struct_size before using a field
 * added in a later minor version. */
typedef struct pc_host_api {
    uint32_t abi_major;
    uint32_t abi_minor;
    size_t struct_size;
    /* Passed back as the first argument of the functions below. */
    void *host_ctx;
    /* Writes one log line through the gateway's logger. msg is borrowed for the
     * call, UTF-8, need not be NUL-terminated; no trailing newline. */
    void (*log)(void *host_ctx, int32_t level, const char *msg, size_t len);
    /* Nonzero when `level` would be written: skip formatting otherwise. */
    int32_t (*log_enabled)(void *host_ctx, int32_t level);
} pc_host_api;

/* The descriptor the entry symbol fills in. Field order is part of the ABI. */
typedef struct pc_blocklist_plugin {
    /* PC_PLUGIN_ABI_MAJOR and PC_PLUGIN_ABI_MINOR as the plugin was built. */
    uint32_t abi_major;
    uint32_t abi_minor;
    /* sizeof(pc_blocklist_plugin) as the plugin was built. */
    size_t struct_size;
    /* Short name and version for logs, e.g. "redis", "1.0.0". Static strings owned
     * by the plugin; they must live until dlclose. */
    const char *name;
    const char *version;
    /* PC_CAP_* bits. */
    uint32_t capabilities;

    /* Creates an instance. config_json is a UTF-8 JSON object: the `blocklist.config`
     * mapping plus "config_dir", the absolute folder of gateway.yaml, against which
     * relative paths are resolved. It is borrowed for the call. On PC_OK, *out is an
     * instance the host later passes to destroy(). On failure, *out is ignored and
     * err says why (unknown key, unreachable backend, ...). Required. */
    int32_t (*create)(const pc_host_api *host, pc_str config_json, pc_instance **out, pc_errbuf err);

    /* Frees everything the instance owns. See "Lifecycle" above. Required. */
    void (*destroy)(pc_instance *inst);

    /* PC_OK when the backend works right now (e.g. redis PING). Called by
     * `portcullis check`, at start-up and for /readyz. Required. */
    int32_t (*health)(pc_instance *inst, pc_errbuf err);

    /* Writes PC_REVOKED or PC_NOT_REVOKED to *verdict for one token. Required. */
    int32_t (*is_revoked)(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err);

    /* Revokes tok->jti until tok->exp (the host passes the token's exp plus
     * leeway, so the entry may be forgotten after it). Revoking a revoked jti
     * again is PC_OK. tok->sub and tok->iat are informative. Required. */
    int32_t (*revoke)(pc_instance *inst, const pc_token *tok, pc_errbuf err);

    /* Revokes every token of `sub` issued at or before `at` (Unix seconds); the
     * entry may be forgotten after `until`. A later call with a larger `at`
     * replaces an earlier one. NULL unless PC_CAP_SUBJECT. */
    int32_t (*revoke_subject)(pc_instance *inst, pc_str sub, int64_t at, int64_t until, pc_errbuf err);

    /* is_revoked() for n tokens at once: verdicts[i] answers toks[i]. Both arrays
     * hold n elements and are borrowed for the call. On failure no verdict is
     * used. NULL unless PC_CAP_BATCH. */
    int32_t (*is_revoked_batch)(pc_instance *inst, const pc_token *toks, size_t n, int32_t *verdicts,
                                pc_errbuf err);
} pc_blocklist_plugin;

/* The one symbol a plugin exports. The host calls it once after dlopen, with
 * `out` pointing at out_size zeroed bytes. Fill at most out_size bytes (copy a
 * local descriptor with memcpy and the smaller of the two sizes) and return PC_OK.
 * `host` stays valid as described on pc_host_api; keep the pointer if you log
 * outside create(). Any other return value refuses the load. */
PC_EXPORT int32_t portcullis_blocklist_plugin_v1(const pc_host_api *host, pc_blocklist_plugin *out,
                                                 size_t out_size);

/* The entry's type, for hosts that look it up with dlsym. */
typedef int32_t (*pc_blocklist_plugin_entry_fn)(const pc_host_api *host, pc_blocklist_plugin *out,
                                                size_t out_size);

#define PC_BLOCKLIST_PLUGIN_ENTRY_SYMBOL "portcullis_blocklist_plugin_v1"

#ifdef __cplusplus
}
#endif

#endif /* PORTCULLIS_PLUGIN_H */
