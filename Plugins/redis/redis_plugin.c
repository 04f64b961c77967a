/* The redis blocklist plugin (SPEC section 7): revoked jtis and subjects as Redis
 * keys that expire natively when the token would have, so nothing is swept and
 * every gateway sharing the Redis sees a revocation at once.
 *
 *   PREFIX "jti:" JTI  -> "1", expiring at the exp the host passed
 *   PREFIX "sub:" SUB  -> the decimal `at`, expiring at `until`
 *
 * Keys are built from bytes and sent as binary-safe arguments: a jti or sub is
 * never formatted into a command string. */
#include "redis_plugin.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Later expiry times are clamped: Redis refuses EXPIREAT beyond its range. */
#define LAST_EXPIRY 253402300799LL /* 9999-12-31T23:59:59Z */

struct pc_instance {
    redis_pool *pool;
    char *prefix;
    size_t prefix_len;
};

/* Keeps the larger `at` and the later expiry: a subject revocation must never
 * shrink because a smaller or shorter one arrived later. ARGV: at, until (empty:
 * never), the caller's clock in ms. The expiry already set is worked out from PTTL
 * and that clock and rounded to the second, so an equal `until` compares equal.
 * PTTL -1: the entry never expires, and stays so. */
static const char SUBJECT_SCRIPT[] =
    "local held = tonumber(redis.call('GET', KEYS[1]) or '')\n"
    "local pttl = redis.call('PTTL', KEYS[1])\n"
    "if held == nil or tonumber(ARGV[1]) > held then redis.call('SET', KEYS[1], ARGV[1]) end\n"
    "if ARGV[2] == '' or pttl == -1 then\n"
    "  redis.call('PERSIST', KEYS[1])\n"
    "  return 1\n"
    "end\n"
    "local kept = math.floor((tonumber(ARGV[3]) + pttl) / 1000 + 0.5)\n"
    "if pttl >= 0 and kept > tonumber(ARGV[2]) then\n"
    "  redis.call('EXPIREAT', KEYS[1], string.format('%.0f', kept))\n"
    "else\n"
    "  redis.call('EXPIREAT', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 1\n";

/* Writes PREFIX kind BYTES at out; returns the length. */
static size_t put_key(const pc_instance *inst, const char *kind, pc_str bytes, char *out) {
    memcpy(out, inst->prefix, inst->prefix_len);
    memcpy(out + inst->prefix_len, kind, 4);
    if (bytes.len) memcpy(out + inst->prefix_len + 4, bytes.ptr, bytes.len);
    return inst->prefix_len + 4 + bytes.len;
}

static int64_t clamp_expiry(int64_t at) { return at > LAST_EXPIRY ? LAST_EXPIRY : at; }

/* --- Checks ------------------------------------------------------------------------ */

/* One MGET for all tokens: the jti key of each, then its sub key when it has a sub. */
static int32_t redis_is_revoked_batch(pc_instance *inst, const pc_token *toks, size_t n, int32_t *verdicts,
                                      pc_errbuf err) {
    size_t keys = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (toks[i].jti.len == 0) {
            pc_errf(err, "empty jti");
            return PC_ERR_INVALID;
        }
        keys += toks[i].sub.ptr ? 2 : 1;
        bytes += inst->prefix_len + 4 + toks[i].jti.len;
        if (toks[i].sub.ptr) bytes += inst->prefix_len + 4 + toks[i].sub.len;
    }
    if (n == 0) return PC_OK;
    if (keys >= INT_MAX) {
        pc_errf(err, "too many tokens in one batch");
        return PC_ERR_INVALID;
    }
    const char **argv = malloc((keys + 1) * sizeof *argv);
    size_t *lens = malloc((keys + 1) * sizeof *lens);
    char *buffer = malloc(bytes ? bytes : 1);
    redisReply *reply = NULL;
    int32_t status = PC_ERR_INTERNAL;
    if (!argv || !lens || !buffer) {
        pc_errf(err, "out of memory");
        goto done;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    char *p = buffer;
    for (size_t i = 0, k = 1; i < n; i++) {
        argv[k] = p;
        p += lens[k++] = put_key(inst, "jti:", toks[i].jti, p);
        if (!toks[i].sub.ptr) continue;
        argv[k] = p;
        p += lens[k++] = put_key(inst, "sub:", toks[i].sub, p);
    }
    redis_command mget = {(int)keys + 1, argv, lens};
    if ((status = redis_pool_execute(inst->pool, &mget, 1, &reply, err)) != PC_OK) goto done;
    if ((status = redis_check_reply(inst->pool, reply, REDIS_REPLY_ARRAY, "MGET", err)) != PC_OK) goto done;
    if (reply->elements != keys) {
        pc_errf(err, "redis %s: MGET answered %zu values for %zu keys", redis_pool_where(inst->pool),
                reply->elements, keys);
        status = PC_ERR_INTERNAL;
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        const redisReply *jti = reply->element[k++];
        const redisReply *sub = toks[i].sub.ptr ? reply->element[k++] : NULL;
        verdicts[i] = jti->type != REDIS_REPLY_NIL ? PC_REVOKED : PC_NOT_REVOKED;
        if (!sub || sub->type == REDIS_REPLY_NIL) continue;
        char *end = NULL;
        errno = 0;
        long long at = sub->type == REDIS_REPLY_STRING ? strtoll(sub->str, &end, 10) : 0;
        if (!end || end == sub->str || *end != '\0' || errno != 0) {
            pc_errf(err, "redis %s: a subject entry does not hold a Unix time", redis_pool_where(inst->pool));
            status = PC_ERR_INTERNAL;
            goto done;
        }
        /* A token without iat counts as issued before any subject revocation. */
        if (toks[i].iat == INT64_MIN || toks[i].iat <= at) verdicts[i] = PC_REVOKED;
    }
done:
    if (reply) freeReplyObject(reply);
    free(argv);
    free(lens);
    free(buffer);
    return status;
}

static int32_t redis_is_revoked(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err) {
    return redis_is_revoked_batch(inst, tok, 1, verdict, err);
}

static int32_t redis_health(pc_instance *inst, pc_errbuf err) {
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    redis_command ping = {1, argv, lens};
    redisReply *reply;
    int32_t status = redis_pool_execute(inst->pool, &ping, 1, &reply, err);
    if (status != PC_OK) return status;
    status = redis_check_reply(inst->pool, reply, REDIS_REPLY_STATUS, "PING", err);
    freeReplyObject(reply);
    return status;
}

/* --- Revocations ------------------------------------------------------------------ */

/* Runs the commands and checks every reply; the last one against last_type. */
static int32_t run_all(pc_instance *inst, const redis_command *commands, size_t count, const char *const *names,
                       int last_type, pc_errbuf err) {
    redisReply *replies[4];
    int32_t status = redis_pool_execute(inst->pool, commands, count, replies, err);
    if (status != PC_OK) return status;
    for (size_t i = 0; i < count; i++) {
        int expected = i + 1 == count ? last_type : REDIS_REPLY_STATUS;
        if (status == PC_OK) status = redis_check_reply(inst->pool, replies[i], expected, names[i], err);
        /* EXEC answers with each queued command's result, errors included. */
        for (size_t j = 0; status == PC_OK && expected == REDIS_REPLY_ARRAY && j < replies[i]->elements; j++) {
            const redisReply *result = replies[i]->element[j];
            const char *name = j + 1 < count ? names[j + 1] : names[i];
            if (result->type == REDIS_REPLY_ERROR)
                status = redis_check_reply(inst->pool, result, REDIS_REPLY_STATUS, name, err);
        }
        freeReplyObject(replies[i]);
    }
    return status;
}

/* SET key 1 and EXPIREAT key exp in MULTI/EXEC, one round trip, any Redis >= 2.0:
 * the key never exists without its expiry. An exp already past needs no entry (the
 * token is refused as expired anyway); INT64_MAX (a token without exp) or INT64_MIN
 * (no time given) keeps the key for good. */
static int32_t redis_revoke(pc_instance *inst, const pc_token *tok, pc_errbuf err) {
    if (tok->jti.len == 0) {
        pc_errf(err, "empty jti");
        return PC_ERR_INVALID;
    }
    if (tok->exp != INT64_MIN && tok->exp <= pc_now_unix()) return PC_OK;
    char *key = malloc(inst->prefix_len + 4 + tok->jti.len);
    if (!key) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    size_t key_len = put_key(inst, "jti:", tok->jti, key);
    char exp[24];
    snprintf(exp, sizeof exp, "%lld", (long long)clamp_expiry(tok->exp));
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *set[] = {"SET", key, "1"}, *expire[] = {"EXPIREAT", key, exp};
    size_t multi_lens[] = {5}, exec_lens[] = {4};
    size_t set_lens[] = {3, key_len, 1}, expire_lens[] = {8, key_len, strlen(exp)};
    int32_t status;
    if (tok->exp == INT64_MIN || tok->exp == INT64_MAX) {
        redis_command command = {3, set, set_lens};
        const char *const names[] = {"SET"};
        status = run_all(inst, &command, 1, names, REDIS_REPLY_STATUS, err);
    } else {
        redis_command commands[4] = {{1, multi, multi_lens}, {3, set, set_lens}, {3, expire, expire_lens},
                                     {1, exec, exec_lens}};
        const char *const names[] = {"MULTI", "SET", "EXPIREAT", "EXEC"};
        /* SET and EXPIREAT answer +QUEUED; their results come in EXEC's array. */
        status = run_all(inst, commands, 4, names, REDIS_REPLY_ARRAY, err);
    }
    free(key);
    return status;
}

static int32_t redis_revoke_subject(pc_instance *inst, pc_str sub, int64_t at, int64_t until, pc_errbuf err) {
    if (sub.len == 0) {
        pc_errf(err, "empty subject");
        return PC_ERR_INVALID;
    }
    int64_t now = pc_now_unix();
    if (until != INT64_MIN && until <= now) return PC_OK; /* every token it covers has expired */
    char *key = malloc(inst->prefix_len + 4 + sub.len);
    if (!key) {
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    size_t key_len = put_key(inst, "sub:", sub, key);
    char at_text[24], until_text[24] = "", now_text[24];
    snprintf(at_text, sizeof at_text, "%lld", (long long)at);
    if (until != INT64_MIN && until != INT64_MAX) snprintf(until_text, sizeof until_text, "%lld", (long long)clamp_expiry(until));
    struct timespec clock;
    clock_gettime(CLOCK_REALTIME, &clock);
    snprintf(now_text, sizeof now_text, "%lld", (long long)clock.tv_sec * 1000 + clock.tv_nsec / 1000000);
    const char *argv[] = {"EVAL", SUBJECT_SCRIPT, "1", key, at_text, until_text, now_text};
    size_t lens[] = {4, sizeof SUBJECT_SCRIPT - 1, 1, key_len, strlen(at_text), strlen(until_text), strlen(now_text)};
    redis_command eval = {7, argv, lens};
    const char *const names[] = {"EVAL"};
    int32_t status = run_all(inst, &eval, 1, names, REDIS_REPLY_INTEGER, err);
    free(key);
    return status;
}

/* --- Lifecycle -------------------------------------------------------------------- */

static void redis_destroy(pc_instance *inst) {
    if (!inst) return;
    redis_pool_destroy(inst->pool);
    free(inst->prefix);
    free(inst);
}

static int32_t redis_create(const pc_host_api *host, pc_str config_json, pc_instance **out, pc_errbuf err) {
    static const char *const keys[] = {"url", "key_prefix", "pool_size", "connect_timeout_ms", "command_timeout_ms"};
    pc_config *config = NULL;
    const char *url, *prefix;
    int64_t pool_size, connect_ms, command_ms;
    redis_target target;
    int32_t status = pc_config_parse(config_json, &config, err);
    if (status != PC_OK) return status;
    if ((status = pc_config_check_keys(config, keys, sizeof keys / sizeof keys[0], err)) != PC_OK ||
        (status = pc_config_string(config, "url", "redis://127.0.0.1:6379/0", &url, err)) != PC_OK ||
        (status = pc_config_string(config, "key_prefix", "portcullis:", &prefix, err)) != PC_OK ||
        (status = pc_config_int(config, "pool_size", 4, 1, 1024, &pool_size, err)) != PC_OK ||
        (status = pc_config_int(config, "connect_timeout_ms", 1000, 1, 600000, &connect_ms, err)) != PC_OK ||
        (status = pc_config_int(config, "command_timeout_ms", 500, 1, 600000, &command_ms, err)) != PC_OK ||
        (status = redis_target_parse(url, &target, err)) != PC_OK) {
        pc_config_free(config);
        return status;
    }
    pc_instance *inst = calloc(1, sizeof *inst);
    if (inst) {
        inst->prefix_len = strlen(prefix);
        inst->prefix = malloc(inst->prefix_len + 1);
        if (inst->prefix) memcpy(inst->prefix, prefix, inst->prefix_len + 1);
    }
    pc_config_free(config);
    if (!inst || !inst->prefix || !(inst->pool = redis_pool_create(host, &target, pool_size, connect_ms, command_ms))) {
        redis_target_clear(&target);
        redis_destroy(inst);
        pc_errf(err, "out of memory");
        return PC_ERR_INTERNAL;
    }
    /* An unreachable Redis must not stop the gateway: it starts, reports not ready
     * and recovers when Redis answers. Only a bad config fails create(). */
    char probe[256] = "";
    pc_errbuf probe_err = {probe, sizeof probe};
    if (redis_health(inst, probe_err) != PC_OK) {
        pc_logf(host, PC_LOG_WARN, "%s; starting anyway, revocation calls fail until it answers", probe);
    } else {
        pc_logf(host, PC_LOG_DEBUG, "redis %s: connected", redis_pool_where(inst->pool));
    }
    redis_pool_set_started(inst->pool);
    *out = inst;
    return PC_OK;
}

static const pc_blocklist_plugin redis_descriptor = {
    .abi_major = PC_PLUGIN_ABI_MAJOR,
    .abi_minor = PC_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(pc_blocklist_plugin),
    .name = "redis",
    .version = "1.0.0",
    .capabilities = PC_CAP_THREADSAFE | PC_CAP_SUBJECT | PC_CAP_BATCH,
    .create = redis_create,
    .destroy = redis_destroy,
    .health = redis_health,
    .is_revoked = redis_is_revoked,
    .revoke = redis_revoke,
    .revoke_subject = redis_revoke_subject,
    .is_revoked_batch = redis_is_revoked_batch,
};

PC_EXPORT int32_t portcullis_blocklist_plugin_v1(const pc_host_api *host, pc_blocklist_plugin *out, size_t out_size) {
    (void)host;
    return pc_describe(&redis_descriptor, out, out_size);
}
