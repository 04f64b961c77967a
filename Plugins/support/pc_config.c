/* A reader for the flat JSON object the host hands to create(). The host's JSON is
 * well-formed (it writes it itself), but a plugin is also driven by tests and other
 * hosts, so malformed text is refused with a position rather than trusted. */
#include "pc_support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pc_config_entry {
    char *key;
    int32_t type;
    char *text; /* PC_JSON_STRING: the decoded string; PC_JSON_NUMBER: the literal */
    int32_t boolean;
} pc_config_entry;

struct pc_config {
    pc_config_entry *entries;
    size_t count;
};

typedef struct reader {
    const char *p;
    const char *start;
    const char *end;
} reader;

static void skip_space(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int fail(reader *r, pc_errbuf err, const char *what) {
    pc_errf(err, "config JSON: %s at offset %zu", what, (size_t)(r->p - r->start));
    return PC_ERR_INVALID;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(reader *r, uint32_t *out) {
    uint32_t value = 0;
    if (r->end - r->p < 4) return 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_digit(r->p[i]);
        if (digit < 0) return 0;
        value = value * 16 + (uint32_t)digit;
    }
    r->p += 4;
    *out = value;
    return 1;
}

static size_t put_utf8(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads a string at r->p (which is at the opening quote) into a malloc'd buffer. */
static int read_string(reader *r, char **out, pc_errbuf err) {
    r->p++; /* opening quote */
    /* The decoded string is never longer than the escaped text. */
    char *buffer = malloc((size_t)(r->end - r->p) + 1);
    size_t length = 0;
    if (!buffer) { pc_errf(err, "out of memory"); return PC_ERR_INTERNAL; }
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20) { free(buffer); return fail(r, err, "control character in string"); }
        if (c != '\\') { buffer[length++] = (char)c; r->p++; continue; }
        r->p++;
        if (r->p >= r->end) break;
        char escape = *r->p++;
        switch (escape) {
        case '"': buffer[length++] = '"'; break;
        case '\\': buffer[length++] = '\\'; break;
        case '/': buffer[length++] = '/'; break;
        case 'b': buffer[length++] = '\b'; break;
        case 'f': buffer[length++] = '\f'; break;
        case 'n': buffer[length++] = '\n'; break;
        case 'r': buffer[length++] = '\r'; break;
        case 't': buffer[length++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!read_hex4(r, &cp)) { free(buffer); return fail(r, err, "bad \\u escape"); }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
                    free(buffer);
                    return fail(r, err, "lone surrogate");
                }
                r->p += 2;
                if (!read_hex4(r, &low) || low < 0xDC00 || low > 0xDFFF) {
                    free(buffer);
                    return fail(r, err, "lone surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(buffer);
                return fail(r, err, "lone surrogate");
            }
            if (cp == 0) { free(buffer); return fail(r, err, "NUL in string"); }
            length += put_utf8(buffer + length, cp);
            break;
        }
        default: free(buffer); return fail(r, err, "bad escape");
        }
    }
    if (r->p >= r->end) { free(buffer); return fail(r, err, "unterminated string"); }
    r->p++; /* closing quote */
    buffer[length] = '\0';
    *out = buffer;
    return PC_OK;
}

/* Skips a nested object or array, strings included, without interpreting it. */
static int skip_nested(reader *r, pc_errbuf err) {
    int depth = 0;
    while (r->p < r->end) {
        char c = *r->p;
        if (c == '"') {
            char *ignored = NULL;
            int status = read_string(r, &ignored, err);
            free(ignored);
            if (status != PC_OK) return status;
            continue;
        }
        r->p++;
        if (c == '{' || c == '[') depth++;
        if ((c == '}' || c == ']') && --depth == 0) return PC_OK;
        if (depth > 64) return fail(r, err, "nesting too deep");
    }
    return fail(r, err, "unterminated value");
}

static int read_value(reader *r, pc_config_entry *entry, pc_errbuf err) {
    if (r->p >= r->end) return fail(r, err, "missing value");
    char c = *r->p;
    if (c == '"') {
        entry->type = PC_JSON_STRING;
        return read_string(r, &entry->text, err);
    }
    if (c == '{' || c == '[') {
        entry->type = PC_JSON_OTHER;
        return skip_nested(r, err);
    }
    static const struct { const char *word; int32_t type; int32_t boolean; } words[] = {
        {"true", PC_JSON_BOOL, 1}, {"false", PC_JSON_BOOL, 0}, {"null", PC_JSON_NULL, 0}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i].word, n) == 0) {
            r->p += n;
            entry->type = words[i].type;
            entry->boolean = words[i].boolean;
            return PC_OK;
        }
    }
    const char *begin = r->p;
    while (r->p < r->end && strchr("+-0123456789.eE", *r->p) != NULL) r->p++;
    if (r->p == begin) return fail(r, err, "unexpected character");
    size_t n = (size_t)(r->p - begin);
    entry->text = malloc(n + 1);
    if (!entry->text) { pc_errf(err, "out of memory"); return PC_ERR_INTERNAL; }
    memcpy(entry->text, begin, n);
    entry->text[n] = '\0';
    entry->type = PC_JSON_NUMBER;
    return PC_OK;
}

int32_t pc_config_parse(pc_str json, pc_config **out, pc_errbuf err) {
    reader r = {json.ptr, json.ptr, json.ptr + json.len};
    pc_config *config = calloc(1, sizeof *config);
    size_t capacity = 0;
    int32_t status = PC_OK;
    if (!config) { pc_errf(err, "out of memory"); return PC_ERR_INTERNAL; }
    if (json.ptr == NULL) { r.p = r.start = r.end = ""; }
    skip_space(&r);
    if (r.p >= r.end || *r.p != '{') { status = fail(&r, err, "expected an object"); goto done; }
    r.p++;
    skip_space(&r);
    if (r.p < r.end && *r.p == '}') { r.p++; goto trailing; }
    for (;;) {
        skip_space(&r);
        if (r.p >= r.end || *r.p != '"') { status = fail(&r, err, "expected a key"); goto done; }
        if (config->count == capacity) {
            size_t grown = capacity ? capacity * 2 : 8;
            pc_config_entry *entries = realloc(config->entries, grown * sizeof *entries);
            if (!entries) { pc_errf(err, "out of memory"); status = PC_ERR_INTERNAL; goto done; }
            config->entries = entries;
            capacity = grown;
        }
        pc_config_entry *entry = &config->entries[config->count];
        memset(entry, 0, sizeof *entry);
        config->count++;
        if ((status = read_string(&r, &entry->key, err)) != PC_OK) goto done;
        for (size_t i = 0; i + 1 < config->count; i++) {
            if (strcmp(config->entries[i].key, entry->key) == 0) {
                pc_errf(err, "config JSON: duplicate key '%s'", entry->key);
                status = PC_ERR_INVALID;
                goto done;
            }
        }
        skip_space(&r);
        if (r.p >= r.end || *r.p != ':') { status = fail(&r, err, "expected ':'"); goto done; }
        r.p++;
        skip_space(&r);
        if ((status = read_value(&r, entry, err)) != PC_OK) goto done;
        skip_space(&r);
        if (r.p < r.end && *r.p == ',') { r.p++; continue; }
        if (r.p < r.end && *r.p == '}') { r.p++; break; }
        status = fail(&r, err, "expected ',' or '}'");
        goto done;
    }
trailing:
    skip_space(&r);
    if (r.p != r.end) status = fail(&r, err, "text after the object");
done:
    if (status != PC_OK) {
        pc_config_free(config);
        return status;
    }
    *out = config;
    return PC_OK;
}

void pc_config_free(pc_config *config) {
    if (!config) return;
    for (size_t i = 0; i < config->count; i++) {
        free(config->entries[i].key);
        free(config->entries[i].text);
    }
    free(config->entries);
    free(config);
}

static const pc_config_entry *find(const pc_config *config, const char *key) {
    for (size_t i = 0; i < config->count; i++) {
        if (strcmp(config->entries[i].key, key) == 0) return &config->entries[i];
    }
    return NULL;
}

int32_t pc_config_check_keys(const pc_config *config, const char *const *allowed, size_t count, pc_errbuf err) {
    for (size_t i = 0; i < config->count; i++) {
        const char *key = config->entries[i].key;
        int known = strcmp(key, "config_dir") == 0;
        for (size_t j = 0; j < count && !known; j++) known = strcmp(key, allowed[j]) == 0;
        if (known) continue;
        char expected[256] = "";
        size_t used = 0;
        for (size_t j = 0; j < count && used < sizeof expected; j++) {
            int n = snprintf(expected + used, sizeof expected - used, "%s%s", j ? ", " : "", allowed[j]);
            if (n < 0) break;
            used += (size_t)n;
        }
        pc_errf(err, "unknown config key '%s' (expected %s)", key, count ? expected : "none");
        return PC_ERR_INVALID;
    }
    return PC_OK;
}

int32_t pc_config_string(const pc_config *config, const char *key, const char *fallback, const char **out,
                         pc_errbuf err) {
    const pc_config_entry *entry = find(config, key);
    if (!entry || entry->type == PC_JSON_NULL) {
        *out = fallback;
        return PC_OK;
    }
    if (entry->type != PC_JSON_STRING) {
        pc_errf(err, "config key '%s' must be a string", key);
        return PC_ERR_INVALID;
    }
    *out = entry->text;
    return PC_OK;
}

int32_t pc_config_int(const pc_config *config, const char *key, int64_t fallback, int64_t min, int64_t max,
                      int64_t *out, pc_errbuf err) {
    const pc_config_entry *entry = find(config, key);
    if (!entry || entry->type == PC_JSON_NULL) {
        *out = fallback;
        return PC_OK;
    }
    /* A quoted number ("100", as `${VAR}` in YAML often gives) is accepted too. */
    if (entry->type == PC_JSON_NUMBER || entry->type == PC_JSON_STRING) {
        char *end = NULL;
        errno = 0;
        long long value = strtoll(entry->text, &end, 10);
        if (errno == 0 && end != entry->text && *end == '\0' && value >= min && value <= max) {
            *out = (int64_t)value;
            return PC_OK;
        }
    }
    pc_errf(err, "config key '%s' must be an integer from %lld to %lld", key, (long long)min, (long long)max);
    return PC_ERR_INVALID;
}
