import Foundation
import PortcullisTestSupport

/// A small C plugin whose behaviour is chosen with -D flags at compile time, for testing the
/// host: load refusals, scheduling, timeouts, batching and serialization. A jti starting with
/// "revoked" is revoked. It logs, through the host, the thread each check ran on, the size of
/// each batch, and whether two calls ever overlapped.
enum ProbePlugin {
    static let source = #"""
        #define _GNU_SOURCE
        #include "portcullis_plugin.h"
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>

        #ifndef CAPS
        #define CAPS (PC_CAP_THREADSAFE | PC_CAP_BATCH)
        #endif
        #ifndef DELAY_MS
        #define DELAY_MS 0
        #endif
        #ifndef CHECK_STATUS
        #define CHECK_STATUS PC_OK
        #endif
        #ifndef CREATE_STATUS
        #define CREATE_STATUS PC_OK
        #endif
        #ifndef ABI_MAJOR
        #define ABI_MAJOR PC_PLUGIN_ABI_MAJOR
        #endif
        #ifndef ENTRY
        #define ENTRY portcullis_blocklist_plugin_v1
        #endif

        struct pc_instance { const pc_host_api *host; };
        static int in_flight;

        static void say(const pc_host_api *host, const char *text) {
            host->log(host->host_ctx, PC_LOG_INFO, text, strlen(text));
        }

        static void enter(pc_instance *inst, size_t n) {
            char name[32] = "?", line[96];
            if (__atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST) > 1) say(inst->host, "overlap");
            pthread_getname_np(pthread_self(), name, sizeof name);
            snprintf(line, sizeof line, "batch=%zu thread=%s", n, name);
            say(inst->host, line);
            if (DELAY_MS > 0) {
                struct timespec pause = {DELAY_MS / 1000, (DELAY_MS % 1000) * 1000000L};
                nanosleep(&pause, NULL);
            }
        }

        static void leave(void) { __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST); }

        static int32_t verdict_for(const pc_token *tok) {
            return tok->jti.len >= 7 && memcmp(tok->jti.ptr, "revoked", 7) == 0 ? PC_REVOKED : PC_NOT_REVOKED;
        }

        static int32_t probe_create(const pc_host_api *host, pc_str config, pc_instance **out, pc_errbuf err) {
            (void)config;
            if (CREATE_STATUS != PC_OK) {
                snprintf(err.buf, err.cap, "the probe was told to refuse");
                return CREATE_STATUS;
            }
            *out = malloc(sizeof **out);
            (*out)->host = host;
            return PC_OK;
        }

        static void probe_destroy(pc_instance *inst) {
            say(inst->host, "destroyed");
            free(inst);
        }

        static int32_t probe_health(pc_instance *inst, pc_errbuf err) {
            (void)inst;
            if (CHECK_STATUS != PC_OK) snprintf(err.buf, err.cap, "backend down");
            return CHECK_STATUS;
        }

        static int32_t probe_is_revoked(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err) {
            enter(inst, 1);
            *verdict = verdict_for(tok);
            leave();
            if (CHECK_STATUS != PC_OK) snprintf(err.buf, err.cap, "backend down");
            return CHECK_STATUS;
        }

        static int32_t probe_batch(pc_instance *inst, const pc_token *toks, size_t n, int32_t *verdicts, pc_errbuf err) {
            enter(inst, n);
            for (size_t i = 0; i < n; i++) verdicts[i] = verdict_for(&toks[i]);
            leave();
            if (CHECK_STATUS != PC_OK) snprintf(err.buf, err.cap, "backend down");
            return CHECK_STATUS;
        }

        static int32_t probe_revoke(pc_instance *inst, const pc_token *tok, pc_errbuf err) {
            (void)inst; (void)tok; (void)err;
            return PC_OK;
        }

        PC_EXPORT int32_t ENTRY(const pc_host_api *host, pc_blocklist_plugin *out, size_t out_size) {
            pc_blocklist_plugin d;
            (void)host;
            memset(&d, 0, sizeof d);
            d.abi_major = ABI_MAJOR;
            d.abi_minor = 0;
            d.struct_size = sizeof d;
            d.name = "probe";
            d.version = "1";
            d.capabilities = CAPS;
            d.create = probe_create;
            d.destroy = probe_destroy;
            d.health = probe_health;
            d.is_revoked = probe_is_revoked;
            d.revoke = probe_revoke;
            d.is_revoked_batch = (CAPS & PC_CAP_BATCH) ? probe_batch : NULL;
            memcpy(out, &d, out_size < sizeof d ? out_size : sizeof d);
            return PC_OK;
        }
        """#

    /// Builds a variant; `defines` are `-D` values such as `["DELAY_MS=200"]`.
    static func build(_ defines: [String] = [], name: String = "probe") throws -> String {
        let directory = try CPluginCompiler.temporaryDirectory()
        return try CPluginCompiler.compile(
            source: source, name: name, in: directory, flags: ["-std=c11", "-Wall", "-Werror", "-lpthread"] + defines.map { "-D\($0)" }
        )
    }
}
