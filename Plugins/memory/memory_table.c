/* The striped hash table of the memory blocklist plugin (see memory_table.h). */
#include "memory_table.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 16
#define INITIAL_HEAP 16
/* Entries a sweep removes per lock hold, so an event loop waiting on the same stripe
 * waits for at most this much work. */
#define SWEEP_BATCH 256

/* --- Hashing ----------------------------------------------------------------- */

static uint64_t mix64(uint64_t x) {
    /* The murmur3 finalizer: every input bit affects every output bit, so both the
     * top bits (stripe) and the low bits (bucket) are well spread. */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Seeded per instance so bucket placement differs from one run to the next. Not a
 * cryptographic defence: jti values come from signed tokens, which an attacker cannot
 * choose, and a subject entry needs an admin or a logout of that subject. */
uint64_t pcm_table_hash(const pcm_table *table, pc_str key) {
    uint64_t h = table->seed ^ ((uint64_t)key.len * 0x9e3779b97f4a7c15ULL);
    const unsigned char *p = (const unsigned char *)key.ptr;
    size_t left = key.len;
    while (left >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        h = mix64(h ^ word);
        p += 8;
        left -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < left; i++) tail |= (uint64_t)p[i] << (8 * i);
    return mix64(h ^ tail ^ 0x2545f4914f6cdd1dULL);
}

static pcm_stripe *stripe_of(pcm_table *table, uint64_t hash) {
    return &table->stripes[hash >> (64 - PCM_STRIPE_BITS)];
}

static int same_key(const pcm_entry *entry, uint64_t hash, pc_str key) {
    return entry->hash == hash && entry->length == key.len &&
           (key.len == 0 || memcmp(entry->key, key.ptr, key.len) == 0);
}

/* --- Heap (min by expiry), under the stripe lock ----------------------------- */

static void heap_place(pcm_stripe *s, size_t i, pcm_entry *entry) {
    s->heap[i] = entry;
    entry->heap_index = i;
}

static void heap_up(pcm_stripe *s, size_t i) {
    pcm_entry *entry = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->expiry <= entry->expiry) break;
        heap_place(s, i, s->heap[parent]);
        i = parent;
    }
    heap_place(s, i, entry);
}

static void heap_down(pcm_stripe *s, size_t i) {
    pcm_entry *entry = s->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->heap_count) break;
        if (child + 1 < s->heap_count && s->heap[child + 1]->expiry < s->heap[child]->expiry) child++;
        if (entry->expiry <= s->heap[child]->expiry) break;
        heap_place(s, i, s->heap[child]);
        i = child;
    }
    heap_place(s, i, entry);
}

static void heap_remove(pcm_stripe *s, pcm_entry *entry) {
    size_t i = entry->heap_index;
    pcm_entry *last = s->heap[--s->heap_count];
    if (last == entry) return;
    heap_place(s, i, last);
    heap_up(s, i);
    heap_down(s, last->heap_index);
}

/* --- Buckets, under the stripe lock ------------------------------------------- */

static pcm_entry *find(pcm_stripe *s, uint64_t hash, pc_str key) {
    for (pcm_entry *e = s->buckets[hash & (s->bucket_count - 1)]; e; e = e->next) {
        if (same_key(e, hash, key)) return e;
    }
    return NULL;
}

static void unlink_entry(pcm_stripe *s, pcm_entry *entry) {
    pcm_entry **link = &s->buckets[entry->hash & (s->bucket_count - 1)];
    while (*link != entry) link = &(*link)->next;
    *link = entry->next;
    heap_remove(s, entry);
}

/* Doubles the bucket array once the stripe holds more entries than buckets. A failed
 * allocation only leaves the chains longer. */
static void maybe_grow(pcm_stripe *s) {
    if (s->heap_count <= s->bucket_count) return;
    size_t count = s->bucket_count * 2;
    pcm_entry **buckets = calloc(count, sizeof *buckets);
    if (!buckets) return;
    for (size_t i = 0; i < s->bucket_count; i++) {
        pcm_entry *e = s->buckets[i];
        while (e) {
            pcm_entry *next = e->next;
            size_t b = e->hash & (count - 1);
            e->next = buckets[b];
            buckets[b] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = buckets;
    s->bucket_count = count;
}

/* --- Table ----------------------------------------------------------------------- */

int32_t pcm_table_init(pcm_table *table, uint64_t seed) {
    memset(table, 0, sizeof *table);
    table->seed = seed;
    atomic_init(&table->count, 0);
    /* sizeof(pcm_stripe) is a multiple of 64 (_Alignas), as aligned_alloc requires:
     * each stripe's lock sits on its own cache lines. */
    table->stripes = aligned_alloc(64, PCM_STRIPES * sizeof(pcm_stripe));
    if (!table->stripes) return PC_ERR_INTERNAL;
    memset(table->stripes, 0, PCM_STRIPES * sizeof(pcm_stripe));
    for (size_t i = 0; i < PCM_STRIPES; i++) {
        pcm_stripe *s = &table->stripes[i];
        s->buckets = calloc(INITIAL_BUCKETS, sizeof *s->buckets);
        s->heap = malloc(INITIAL_HEAP * sizeof *s->heap);
        if (!s->buckets || !s->heap) {
            free(s->buckets);
            free(s->heap);
            for (size_t j = 0; j < i; j++) {
                pthread_mutex_destroy(&table->stripes[j].lock);
                free(table->stripes[j].buckets);
                free(table->stripes[j].heap);
            }
            free(table->stripes);
            table->stripes = NULL;
            return PC_ERR_INTERNAL;
        }
        s->bucket_count = INITIAL_BUCKETS;
        s->heap_capacity = INITIAL_HEAP;
        pthread_mutex_init(&s->lock, NULL);
    }
    return PC_OK;
}

void pcm_table_free(pcm_table *table) {
    if (!table->stripes) return;
    for (size_t i = 0; i < PCM_STRIPES; i++) {
        pcm_stripe *s = &table->stripes[i];
        for (size_t j = 0; j < s->heap_count; j++) free(s->heap[j]);
        free(s->heap);
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(table->stripes);
    table->stripes = NULL;
}

pcm_entry *pcm_entry_new(const pcm_table *table, pc_str key, int64_t expiry, int64_t value) {
    pcm_entry *entry = malloc(sizeof *entry + key.len);
    if (!entry) return NULL;
    entry->next = NULL;
    entry->hash = pcm_table_hash(table, key);
    entry->expiry = expiry;
    entry->value = value;
    entry->heap_index = 0;
    entry->length = key.len;
    if (key.len) memcpy(entry->key, key.ptr, key.len);
    return entry;
}

int pcm_table_lookup(pcm_table *table, pc_str key, uint64_t hash, pcm_found *out) {
    pcm_stripe *s = stripe_of(table, hash);
    pthread_mutex_lock(&s->lock);
    const pcm_entry *entry = find(s, hash, key);
    if (entry) {
        out->expiry = entry->expiry;
        out->value = entry->value;
    }
    pthread_mutex_unlock(&s->lock);
    return entry != NULL;
}

/* Raises an existing entry; the expiry only grows, so the heap moves it down. */
static void raise_entry(pcm_stripe *s, pcm_entry *entry, int64_t expiry, int64_t value) {
    if (value > entry->value) entry->value = value;
    if (expiry > entry->expiry) {
        entry->expiry = expiry;
        heap_down(s, entry->heap_index);
    }
}

int pcm_table_raise(pcm_table *table, pc_str key, uint64_t hash, int64_t expiry, int64_t value) {
    pcm_stripe *s = stripe_of(table, hash);
    pthread_mutex_lock(&s->lock);
    pcm_entry *entry = find(s, hash, key);
    if (entry) raise_entry(s, entry, expiry, value);
    pthread_mutex_unlock(&s->lock);
    return entry != NULL;
}

int pcm_table_put(pcm_table *table, pcm_entry *spare) {
    pc_str key = {spare->key, spare->length};
    pcm_stripe *s = stripe_of(table, spare->hash);
    int result = 1;
    pthread_mutex_lock(&s->lock);
    pcm_entry *entry = find(s, spare->hash, key);
    if (entry) {
        raise_entry(s, entry, spare->expiry, spare->value);
        result = 0;
    } else if (s->heap_count == s->heap_capacity) {
        pcm_entry **heap = realloc(s->heap, 2 * s->heap_capacity * sizeof *heap);
        if (heap) {
            s->heap = heap;
            s->heap_capacity *= 2;
        } else {
            result = -1;
        }
    }
    if (result == 1) {
        size_t b = spare->hash & (s->bucket_count - 1);
        spare->next = s->buckets[b];
        s->buckets[b] = spare;
        heap_place(s, s->heap_count++, spare);
        heap_up(s, spare->heap_index);
        atomic_fetch_add(&table->count, 1);
        maybe_grow(s);
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

int pcm_table_evict_soonest(pcm_table *table, int64_t *expiry) {
    /* A stripe's head can only be swept away between the scan and the removal (the
     * caller serializes inserts); the loop then looks again. */
    for (;;) {
        size_t victim = PCM_STRIPES;
        int64_t soonest = 0;
        for (size_t i = 0; i < PCM_STRIPES; i++) {
            pcm_stripe *s = &table->stripes[i];
            pthread_mutex_lock(&s->lock);
            if (s->heap_count > 0 && (victim == PCM_STRIPES || s->heap[0]->expiry < soonest)) {
                victim = i;
                soonest = s->heap[0]->expiry;
            }
            pthread_mutex_unlock(&s->lock);
        }
        if (victim == PCM_STRIPES) return 0;
        pcm_stripe *s = &table->stripes[victim];
        pcm_entry *entry = NULL;
        pthread_mutex_lock(&s->lock);
        if (s->heap_count > 0) {
            entry = s->heap[0];
            unlink_entry(s, entry);
            atomic_fetch_sub(&table->count, 1);
        }
        pthread_mutex_unlock(&s->lock);
        if (entry) {
            *expiry = entry->expiry;
            free(entry);
            return 1;
        }
    }
}

size_t pcm_table_sweep(pcm_table *table, int64_t now) {
    size_t removed = 0;
    for (size_t i = 0; i < PCM_STRIPES; i++) {
        pcm_stripe *s = &table->stripes[i];
        size_t batch;
        do {
            pcm_entry *garbage = NULL;
            batch = 0;
            pthread_mutex_lock(&s->lock);
            while (batch < SWEEP_BATCH && s->heap_count > 0 && s->heap[0]->expiry < now) {
                pcm_entry *entry = s->heap[0];
                unlink_entry(s, entry);
                entry->next = garbage;
                garbage = entry;
                batch++;
            }
            if (batch) atomic_fetch_sub(&table->count, batch);
            pthread_mutex_unlock(&s->lock);
            while (garbage) {
                pcm_entry *next = garbage->next;
                free(garbage);
                garbage = next;
            }
            removed += batch;
        } while (batch == SWEEP_BATCH);
    }
    return removed;
}
