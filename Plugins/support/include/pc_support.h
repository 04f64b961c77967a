/*
 * pc_support.h — small pieces the built-in plugins share: reading the flat JSON
 * config handed to create(), error and log formatting, relative paths, a sweeper
 * thread and the clock. Linked statically into each built-in plugin; third-party
 * plugins need only portcullis_plugin.h (see Examples/plugins/).
 */
#ifndef PC_SUPPORT_H
#define PC_SUPPORT_H

#include "portcullis_plugin.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Internal to each plugin library: only the entry symbol is exported. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

/* --- Entry ------------------------------------------------------------------------ */

/* Copies `descriptor` into the host's buffer (at most out_size bytes) for the entry
 * symbol; returns PC_OK. */
int32_t pc_describe(const pc_blocklist_plugin *descriptor, pc_blocklist_plugin *out, size_t out_size);

/* --- Config ----------------------------------------------------------------- */

/* The type of a config value. Nested objects and arrays are kept as PC_JSON_OTHER
 * so that a plugin can name them in an error. */
#define PC_JSON_NULL 0
#define PC_JSON_BOOL 1
#define PC_JSON_NUMBER 2
#define PC_JSON_STRING 3
#define PC_JSON_OTHER 4

typedef struct pc_config pc_config;

/* Parses a JSON object whose values are scalars. On PC_OK *out owns a copy of
 * everything (free it with pc_config_free); on PC_ERR_INVALID err says where the
 * text went wrong. */
int32_t pc_config_parse(pc_str json, pc_config **out, pc_errbuf err);
void pc_config_free(pc_config *config);

/* PC_ERR_INVALID naming the first key not in `allowed` ("config_dir" is always
 * allowed). */
int32_t pc_config_check_keys(const pc_config *config, const char *const *allowed, size_t count, pc_errbuf err);

/* *out is the string value of `key` (owned by config), or `fallback` when the key
 * is absent or null. PC_ERR_INVALID when the value is not a string. */
int32_t pc_config_string(const pc_config *config, const char *key, const char *fallback, const char **out,
                         pc_errbuf err);

/* *out is the integer value of `key`, or `fallback` when absent or null.
 * PC_ERR_INVALID when it is not an integer in [min, max]. */
int32_t pc_config_int(const pc_config *config, const char *key, int64_t fallback, int64_t min, int64_t max,
                      int64_t *out, pc_errbuf err);

/* --- Messages ------------------------------------------------------------------- */

/* Writes a printf-style message into err (truncated, always NUL-terminated). */
void pc_errf(pc_errbuf err, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Logs a printf-style line through the host, if the host wants that level. */
void pc_logf(const pc_host_api *host, int32_t level, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* --- Paths, time, threads --------------------------------------------------------- */

/* `path` if it is absolute, else `directory/path`. Returns a malloc'd string (NULL
 * when out of memory); the caller frees it. `directory` may be NULL. */
char *pc_resolve_path(const char *directory, const char *path);

/* The current Unix time in seconds. */
int64_t pc_now_unix(void);

/* A thread that calls fn(ctx) every interval_seconds until stopped. */
typedef struct pc_sweeper pc_sweeper;

/* NULL when the thread cannot be started. */
pc_sweeper *pc_sweeper_start(int64_t interval_seconds, void (*fn)(void *ctx), void *ctx);

/* Wakes the thread, waits until it has exited (so fn never runs afterwards) and
 * frees the sweeper. NULL is ignored. */
void pc_sweeper_stop(pc_sweeper *sweeper);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* PC_SUPPORT_H */
