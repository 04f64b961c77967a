/* The entry copy, messages, paths, the clock and the sweeper thread shared by the built-in
 * plugins. */
#include "pc_support.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int32_t pc_describe(const pc_blocklist_plugin *descriptor, pc_blocklist_plugin *out, size_t out_size) {
    memcpy(out, descriptor, out_size < sizeof *descriptor ? out_size : sizeof *descriptor);
    return PC_OK;
}

void pc_errf(pc_errbuf err, const char *format, ...) {
    if (!err.buf || err.cap == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err.buf, err.cap, format, args);
    va_end(args);
}

void pc_logf(const pc_host_api *host, int32_t level, const char *format, ...) {
    if (!host || !host->log) return;
    if (host->log_enabled && !host->log_enabled(host->host_ctx, level)) return;
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n < 0) return;
    size_t length = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    host->log(host->host_ctx, level, line, length);
}

char *pc_resolve_path(const char *directory, const char *path) {
    size_t path_length = strlen(path);
    if (path[0] == '/' || directory == NULL || directory[0] == '\0') {
        char *copy = malloc(path_length + 1);
        if (copy) memcpy(copy, path, path_length + 1);
        return copy;
    }
    size_t directory_length = strlen(directory);
    char *joined = malloc(directory_length + 1 + path_length + 1);
    if (!joined) return NULL;
    memcpy(joined, directory, directory_length);
    joined[directory_length] = '/';
    memcpy(joined + directory_length + 1, path, path_length + 1);
    return joined;
}

int64_t pc_now_unix(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec;
}

struct pc_sweeper {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    int64_t interval;
    void (*fn)(void *ctx);
    void *ctx;
};

static void *sweeper_main(void *argument) {
    pc_sweeper *sweeper = argument;
    pthread_mutex_lock(&sweeper->lock);
    while (!sweeper->stopping) {
        /* CLOCK_MONOTONIC (set on the condition variable) so a wall-clock jump does
         * not stall or hurry the sweep. */
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += (time_t)sweeper->interval;
        while (!sweeper->stopping &&
               pthread_cond_timedwait(&sweeper->wake, &sweeper->lock, &deadline) == 0) {
        }
        if (sweeper->stopping) break;
        pthread_mutex_unlock(&sweeper->lock);
        sweeper->fn(sweeper->ctx);
        pthread_mutex_lock(&sweeper->lock);
    }
    pthread_mutex_unlock(&sweeper->lock);
    return NULL;
}

pc_sweeper *pc_sweeper_start(int64_t interval_seconds, void (*fn)(void *ctx), void *ctx) {
    pc_sweeper *sweeper = calloc(1, sizeof *sweeper);
    if (!sweeper) return NULL;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&sweeper->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&sweeper->lock, NULL);
    sweeper->interval = interval_seconds > 0 ? interval_seconds : 1;
    sweeper->fn = fn;
    sweeper->ctx = ctx;
    if (pthread_create(&sweeper->thread, NULL, sweeper_main, sweeper) != 0) {
        pthread_cond_destroy(&sweeper->wake);
        pthread_mutex_destroy(&sweeper->lock);
        free(sweeper);
        return NULL;
    }
    return sweeper;
}

void pc_sweeper_stop(pc_sweeper *sweeper) {
    if (!sweeper) return;
    pthread_mutex_lock(&sweeper->lock);
    sweeper->stopping = 1;
    pthread_cond_signal(&sweeper->wake);
    pthread_mutex_unlock(&sweeper->lock);
    pthread_join(sweeper->thread, NULL);
    pthread_cond_destroy(&sweeper->wake);
    pthread_mutex_destroy(&sweeper->lock);
    free(sweeper);
}
