/*
 * memory_table.h — the striped hash table behind the memory blocklist plugin.
 *
 * A table maps byte-string keys (a jti, or a subject) to an expiry and a value. It is
 * split into PCM_STRIPES stripes, chosen by the top bits of the key's hash; each stripe
 * has its own mutex, chained hash table and min-heap of entries ordered by expiry. A
 * lookup, insert or update locks exactly one stripe for O(1) (heap updates: O(log n))
 * work, so event loops checking different tokens rarely contend.
 *
 * Internal to the plugin: nothing here crosses the ABI.
 */
#ifndef PORTCULLIS_MEMORY_TABLE_H
#define PORTCULLIS_MEMORY_TABLE_H

#include "portcullis_plugin.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define PCM_INTERNAL __attribute__((visibility("hidden")))
#else
#define PCM_INTERNAL
#endif

/* A power of two; the stripe is the top log2(PCM_STRIPES) bits of the hash. */
#define PCM_STRIPES 64
#define PCM_STRIPE_BITS 6

/* Expiry of an entry that is only ever dropped by eviction. */
#define PCM_NEVER INT64_MAX

typedef struct pcm_entry {
    struct pcm_entry *next; /* bucket chain; also the free list while sweeping */
    uint64_t hash;
    int64_t expiry;    /* forgotten once the clock is past this second */
    int64_t value;     /* subject table: revoked-at; jti table: unused */
    size_t heap_index; /* position in the stripe's heap */
    size_t length;
    char key[];        /* length bytes, a copy of the caller's key */
} pcm_entry;

typedef struct pcm_stripe {
    _Alignas(64) pthread_mutex_t lock;
    pcm_entry **buckets;
    size_t bucket_count; /* a power of two */
    pcm_entry **heap;    /* min-heap by expiry; heap_count is the stripe's entry count */
    size_t heap_count;
    size_t heap_capacity;
} pcm_stripe;

typedef struct pcm_table {
    pcm_stripe *stripes;
    uint64_t seed;
    /* Entries in all stripes. Changed inside the stripe's critical section that
     * adds or removes the entry, so it never lags behind a removal. */
    _Atomic size_t count;
} pcm_table;

/* What a lookup found: a copy, so no lock is held once it returns. */
typedef struct pcm_found {
    int64_t expiry;
    int64_t value;
} pcm_found;

/* PC_OK, or PC_ERR_INTERNAL when out of memory. */
PCM_INTERNAL int32_t pcm_table_init(pcm_table *table, uint64_t seed);

/* Frees every entry and stripe. No other call may be running. */
PCM_INTERNAL void pcm_table_free(pcm_table *table);

PCM_INTERNAL uint64_t pcm_table_hash(const pcm_table *table, pc_str key);

/* A new entry for `key` that no table owns yet (NULL when out of memory). Allocated
 * outside any lock; hand it to pcm_table_put or free() it. */
PCM_INTERNAL pcm_entry *pcm_entry_new(const pcm_table *table, pc_str key, int64_t expiry, int64_t value);

/* 1 and *out filled when `key` is present (expired or not), else 0. */
PCM_INTERNAL int pcm_table_lookup(pcm_table *table, pc_str key, uint64_t hash, pcm_found *out);

/* When an entry with the spare's key exists, raises its expiry and value to at least
 * the spare's and returns 0 (the caller still owns the spare). Otherwise inserts the
 * spare, which the table now owns, and returns 1. -1 when out of memory (spare still
 * the caller's, table unchanged). */
PCM_INTERNAL int pcm_table_put(pcm_table *table, pcm_entry *spare);

/* Like pcm_table_put when the key exists (returns 1 after raising it), else 0 and
 * the table is unchanged. */
PCM_INTERNAL int pcm_table_raise(pcm_table *table, pc_str key, uint64_t hash, int64_t expiry, int64_t value);

/* Removes the entry with the smallest expiry over all stripes and returns 1 with its
 * expiry in *expiry; 0 when the table is empty. Exact only while no other thread
 * inserts (the caller serializes inserts and evictions); a concurrent sweep can only
 * take entries away. O(PCM_STRIPES + log n). */
PCM_INTERNAL int pcm_table_evict_soonest(pcm_table *table, int64_t *expiry);

/* Removes every entry whose expiry is before `now`; returns how many. Holds each
 * stripe's lock for a bounded batch at a time. */
PCM_INTERNAL size_t pcm_table_sweep(pcm_table *table, int64_t now);

#endif /* PORTCULLIS_MEMORY_TABLE_H */
