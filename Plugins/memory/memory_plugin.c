/*
 * The memory blocklist plugin: revocations kept in this process only (SPEC section 7).
 *
 * Two striped tables (memory_table.h): jti -> expiry, and subject -> (revoked-at,
 * forget-after). Lookups lock one stripe for a hash probe, so the plugin is called
 * directly on the gateway's event loops (PC_CAP_NONBLOCKING). A sweeper thread drops
 * expired entries every `sweep_interval` seconds.
 *
 * At most `max_entries` jti entries are kept. Inserting a new jti is serialized by
 * one admission mutex (revocations are rare next to lookups, and lookups never take
 * it); when the table is full, the entry expiring soonest is dropped first. Because
 * inserts are serialized and a concurrent sweep only removes entries, "soonest" is
 * exact over the whole table, not per stripe: the victim is the entry with the
 * smallest expiry at that moment (ties: the one in the lowest-numbered stripe), and
 * entries revoked without an expiry are dropped last. Subject entries are not
 * counted: there is at most one per subject, and each is forgotten after `until`.
 */
#include "memory_table.h"
#include "pc_support.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_ENTRIES 1000000
#define DEFAULT_SWEEP_INTERVAL 60
#define MAX_SWEEP_INTERVAL 86400

struct pc_instance {
    const pc_host_api *host;
    int64_t max_entries;
    int64_t sweep_interval;
    pcm_table jtis;
    pcm_table subjects;
    /* Serializes jti inserts and evictions (so the table never exceeds max_entries)
     * and guards the warning state below. Never held during a lookup. */
    pthread_mutex_t admission;
    /* Live revocations dropped since the last warning, and when the next warning may
     * be written: at most one per sweep interval, however fast the table overflows. */
    int64_t dropped_unreported;
    int64_t next_warning_at;
    pc_sweeper *sweeper;
};

static int64_t key_expiry(int64_t t) { return t == INT64_MIN ? PCM_NEVER : t; }

static int has_text(pc_str s) { return s.ptr != NULL && s.len > 0; }

/* --- Warnings about a full table ------------------------------------------------ */

static void warn_dropped(pc_instance *inst, int64_t dropped) {
    pc_logf(inst->host, PC_LOG_WARN,
            "memory blocklist is full (max_entries %" PRId64 "): dropped %" PRId64
            " revocation(s) closest to expiry; those tokens are accepted again until they expire."
            " Raise max_entries or use a persistent blocklist",
            inst->max_entries, dropped);
}

/* Under the admission mutex: counts a dropped live revocation and returns how many
 * to report now (0: stay quiet, the next sweep reports them). */
static int64_t note_dropped(pc_instance *inst, int64_t now) {
    inst->dropped_unreported++;
    if (now < inst->next_warning_at) return 0;
    int64_t report = inst->dropped_unreported;
    inst->dropped_unreported = 0;
    inst->next_warning_at = now + inst->sweep_interval;
    return report;
}

static void sweep(void *context) {
    pc_instance *inst = context;
    int64_t now = pc_now_unix();
    size_t jtis = pcm_table_sweep(&inst->jtis, now);
    size_t subjects = pcm_table_sweep(&inst->subjects, now);
    if (jtis || subjects) {
        pc_logf(inst->host, PC_LOG_DEBUG, "memory blocklist swept %zu expired jti entries and %zu subject entries",
                jtis, subjects);
    }
    int64_t report = 0;
    pthread_mutex_lock(&inst->admission);
    if (inst->dropped_unreported > 0 && now >= inst->next_warning_at) {
        report = inst->dropped_unreported;
        inst->dropped_unreported = 0;
        inst->next_warning_at = now + inst->sweep_interval;
    }
    pthread_mutex_unlock(&inst->admission);
    if (report) warn_dropped(inst, report);
}

/* --- Lifecycle -------------------------------------------------------------------- */

static void memory_destroy(pc_instance *inst) {
    if (!inst) return;
    pc_sweeper_stop(inst->sweeper);
    pcm_table_free(&inst->jtis);
    pcm_table_free(&inst->subjects);
    pthread_mutex_destroy(&inst->admission);
    free(inst);
}

static uint64_t make_seed(const void *salt) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)t.tv_sec ^ (uint64_t)(uintptr_t)salt;
}

static int32_t read_config(pc_str json, int64_t *max_entries, int64_t *sweep_interval, pc_errbuf err) {
    static const char *const keys[] = {"max_entries", "sweep_interval"};
    pc_config *config = NULL;
    int32_t status = pc_config_parse(json, &config, err);
    if (status != PC_OK) return status;
    status = pc_config_check_keys(config, keys, sizeof keys / sizeof keys[0], err);
    if (status == PC_OK)
        status = pc_config_int(config, "max_entries", DEFAULT_MAX_ENTRIES, 1, INT64_MAX, max_entries, err);
    if (status == PC_OK)
        status = pc_config_int(config, "sweep_interval", DEFAULT_SWEEP_INTERVAL, 1, MAX_SWEEP_INTERVAL,
                               sweep_interval, err);
    pc_config_free(config);
    return status;
}

static int32_t memory_create(const pc_host_api *host, pc_str config_json, pc_instance **out, pc_errbuf err) {
    int64_t max_entries, sweep_interval;
    int32_t status = read_config(config_json, &max_entries, &sweep_interval, err);
    if (status != PC_OK) return status;

    pc_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    inst->host = host;
    inst->max_entries = max_entries;
    inst->sweep_interval = sweep_interval;
    pthread_mutex_init(&inst->admission, NULL);
    if (pcm_table_init(&inst->jtis, make_seed(inst)) != PC_OK ||
        pcm_table_init(&inst->subjects, make_seed(&inst->subjects)) != PC_OK) {
        memory_destroy(inst);
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    inst->sweeper = pc_sweeper_start(sweep_interval, sweep, inst);
    if (!inst->sweeper) {
        memory_destroy(inst);
        pc_errf(err, "cannot start the sweeper thread");
        return PC_ERR_INTERNAL;
    }
    *out = inst;
    return PC_OK;
}

static int32_t memory_health(pc_instance *inst, pc_errbuf err) {
    (void)inst;
    (void)err;
    return PC_OK;
}

/* --- Checks --------------------------------------------------------------------- */

static int32_t verdict_at(pc_instance *inst, const pc_token *tok, int64_t now) {
    pcm_found found;
    /* An entry is kept until the clock is past its expiry; one that has passed is as
     * good as swept. */
    if (has_text(tok->jti) && pcm_table_lookup(&inst->jtis, tok->jti, pcm_table_hash(&inst->jtis, tok->jti), &found) &&
        found.expiry >= now)
        return PC_REVOKED;
    /* A subject entry revokes the tokens issued at or before it; a token without iat
     * counts as issued before. */
    if (has_text(tok->sub) &&
        pcm_table_lookup(&inst->subjects, tok->sub, pcm_table_hash(&inst->subjects, tok->sub), &found) &&
        found.expiry >= now && (tok->iat == INT64_MIN || tok->iat <= found.value))
        return PC_REVOKED;
    return PC_NOT_REVOKED;
}

static int32_t memory_is_revoked(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err) {
    (void)err;
    *verdict = verdict_at(inst, tok, pc_now_unix());
    return PC_OK;
}

static int32_t memory_is_revoked_batch(pc_instance *inst, const pc_token *toks, size_t n, int32_t *verdicts,
                                       pc_errbuf err) {
    (void)err;
    int64_t now = pc_now_unix();
    for (size_t i = 0; i < n; i++) verdicts[i] = verdict_at(inst, &toks[i], now);
    return PC_OK;
}

/* --- Revocations ------------------------------------------------------------------ */

static int32_t memory_revoke(pc_instance *inst, const pc_token *tok, pc_errbuf err) {
    if (!has_text(tok->jti)) {
        pc_errf(err, "cannot revoke a token without a jti");
        return PC_ERR_INVALID;
    }
    int64_t now = pc_now_unix();
    int64_t expiry = key_expiry(tok->exp);
    /* A jti whose time has already passed would never be reported: nothing to keep. */
    if (expiry < now) return PC_OK;
    uint64_t hash = pcm_table_hash(&inst->jtis, tok->jti);
    /* Allocated before taking any lock; freed below when the jti was already there. */
    pcm_entry *spare = pcm_entry_new(&inst->jtis, tok->jti, expiry, 0);
    if (!spare) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }

    int64_t report = 0;
    int stored = 0;
    pthread_mutex_lock(&inst->admission);
    if (!pcm_table_raise(&inst->jtis, tok->jti, hash, expiry, 0)) {
        /* Inserts only happen under this mutex, so the jti is still absent and the
         * count can only fall while we make room. */
        int64_t victim_expiry;
        while ((int64_t)atomic_load(&inst->jtis.count) >= inst->max_entries &&
               pcm_table_evict_soonest(&inst->jtis, &victim_expiry)) {
            /* An expired victim is only an early sweep; a live one is a lost revocation. */
            if (victim_expiry >= now) report += note_dropped(inst, now);
        }
        stored = pcm_table_put(&inst->jtis, spare);
    }
    pthread_mutex_unlock(&inst->admission);

    if (report) warn_dropped(inst, report);
    if (stored != 1) free(spare);
    if (stored < 0) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    return PC_OK;
}

static int32_t memory_revoke_subject(pc_instance *inst, pc_str sub, int64_t at, int64_t until, pc_errbuf err) {
    if (!has_text(sub)) {
        pc_errf(err, "cannot revoke an empty subject");
        return PC_ERR_INVALID;
    }
    /* Even an entry whose `until` has passed is merged in: it may raise `at` of an
     * existing entry that is still in force. The sweep drops it otherwise. */
    pcm_entry *spare = pcm_entry_new(&inst->subjects, sub, key_expiry(until), at);
    if (!spare) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    int stored = pcm_table_put(&inst->subjects, spare);
    if (stored != 1) free(spare);
    if (stored < 0) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    return PC_OK;
}

/* --- Entry ---------------------------------------------------------------------------- */

static const pc_blocklist_plugin memory_descriptor = {
    .abi_major = PC_PLUGIN_ABI_MAJOR,
    .abi_minor = PC_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(pc_blocklist_plugin),
    .name = "memory",
    .version = "1.0.0",
    .capabilities = PC_CAP_THREADSAFE | PC_CAP_NONBLOCKING | PC_CAP_SUBJECT | PC_CAP_BATCH,
    .create = memory_create,
    .destroy = memory_destroy,
    .health = memory_health,
    .is_revoked = memory_is_revoked,
    .revoke = memory_revoke,
    .revoke_subject = memory_revoke_subject,
    .is_revoked_batch = memory_is_revoked_batch,
};

PC_EXPORT int32_t portcullis_blocklist_plugin_v1(const pc_host_api *host, pc_blocklist_plugin *out, size_t out_size) {
    (void)host;
    return pc_describe(&memory_descriptor, out, out_size);
}
