/*
 * hashidx.h: the C interface of hashidx, a deep-hashing approximate nearest-neighbour engine.
 *
 * Link with -lHashIdxC (the shared library SwiftPM builds as the HashIdxC product:
 * `swift build -c release --product HashIdxC`, then .build/release/libHashIdxC.so).
 * docs/C-API.md says what every call owns, copies and allows across threads.
 *
 * The rules in short:
 *  - Every call that can fail returns a hashidx_status (0: HASHIDX_OK) and, when `error` is
 *    not NULL, fills it with the same code and a one-line message saying what to do. No call
 *    aborts the process on bad input: a NULL pointer, a negative count, a dimension that does
 *    not match, NaN in a vector, a malformed filter or attribute line, an unknown id, a buffer
 *    too small — each is a status.
 *  - Buffers are the caller's: the library reads inputs only during the call and writes
 *    outputs only into the buffers given, whose sizes the call names. Nothing the library
 *    returns needs freeing except the handles (hashidx_close, hashidx_writer_free).
 *  - Strings are UTF-8. Ids and labels travel as one buffer of lines separated by '\n' (ids
 *    hold no control characters, so a line is an id), with an explicit length.
 *  - A hashidx_index is an immutable snapshot: any number of threads may search it at once.
 *    A hashidx_writer serialises its calls (a commit holds it until durable). A handle must
 *    not be closed while another thread uses it.
 */
#ifndef HASHIDX_H
#define HASHIDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface. Compiled-in callers compare it with hashidx_abi_version():
   a library with another major ABI version is not compatible. */
#define HASHIDX_ABI_VERSION 1

/* ---------- Errors ---------- */

typedef enum hashidx_status {
    HASHIDX_OK = 0,
    HASHIDX_ERR_IO = 1,                  /* a file could not be read or written, or another writer holds the index */
    HASHIDX_ERR_UNKNOWN_FORMAT = 2,      /* a file's type is not one hashidx reads */
    HASHIDX_ERR_MALFORMED_INPUT = 3,     /* malformed vectors, ids or labels */
    HASHIDX_ERR_EMPTY_INPUT = 4,         /* no rows */
    HASHIDX_ERR_NON_FINITE = 5,          /* NaN or infinity in a vector or query */
    HASHIDX_ERR_ZERO_VECTOR = 6,         /* an all-zero vector (no direction, no cosine) */
    HASHIDX_ERR_DIMENSION = 7,           /* a vector's length differs from the index's */
    HASHIDX_ERR_ID_COUNT = 8,            /* not one id per row */
    HASHIDX_ERR_DUPLICATE_ID = 9,        /* the same id twice in the input */
    HASHIDX_ERR_ID_EXISTS = 10,          /* an added id is already an item's (upsert replaces) */
    HASHIDX_ERR_INVALID_ID = 11,         /* empty, too long, control characters, bad UTF-8 */
    HASHIDX_ERR_INVALID_ARGUMENT = 12,   /* an option or argument out of range, a NULL pointer */
    HASHIDX_ERR_UNKNOWN_ID = 13,         /* no item has the id */
    HASHIDX_ERR_NOT_AN_INDEX = 14,       /* the path holds no hashidx index */
    HASHIDX_ERR_CORRUPT_INDEX = 15,      /* checksums or sizes do not match */
    HASHIDX_ERR_UNSUPPORTED_VERSION = 16,/* a format version this library does not read */
    HASHIDX_ERR_INVALID_ATTRIBUTES = 17, /* a bad attribute line or value */
    HASHIDX_ERR_INVALID_FILTER = 18,     /* a filter that does not parse or does not fit the index */
    HASHIDX_ERR_BUFFER_TOO_SMALL = 19,   /* an output buffer is too small; *needed says how large */
    HASHIDX_ERR_PENDING_CHANGES = 20     /* the writer holds uncommitted changes (commit or roll back) */
} hashidx_status;

#define HASHIDX_ERROR_MESSAGE_SIZE 1024

/* A failed call's code and message (NUL-terminated, cut at a UTF-8 boundary when longer). */
typedef struct hashidx_error {
    int32_t code;
    char message[HASHIDX_ERROR_MESSAGE_SIZE];
} hashidx_error;

/* ---------- Versions ---------- */

/* The library's version, e.g. "0.2.0"; a static string. */
const char *hashidx_version(void);
/* The ABI version the library implements (HASHIDX_ABI_VERSION when it matches this header). */
uint32_t hashidx_abi_version(void);

/* ---------- Inputs ---------- */

/* Element types of the vectors a caller passes: row-major, contiguous, `rows × dimension`. */
typedef enum hashidx_dtype {
    HASHIDX_FLOAT32 = 0,
    HASHIDX_FLOAT16 = 1   /* IEEE 754 binary16 */
} hashidx_dtype;

/* Final ranking of the candidates. */
typedef enum hashidx_rerank {
    HASHIDX_RERANK_DEFAULT = 0,   /* the index's (hashidx info shows it) */
    HASHIDX_RERANK_COSINE = 1,
    HASHIDX_RERANK_LEARNED = 2,
    HASHIDX_RERANK_BLEND = 3
} hashidx_rerank;

/* ---------- Building ---------- */

typedef struct hashidx_build_options {
    int32_t bits;                 /* code length, a positive multiple of 64; 0: 256 */
    int32_t partitions;           /* -1: about 2 sqrt(rows) (none under 20,000 rows); 0: none */
    int32_t float32_vectors;      /* 1: store float32 vectors; 0: float16 (half the size) */
    int32_t threads;              /* encoding threads; 0: all cores */
    uint64_t seed;                /* training seed; 0: the library's fixed default */
    double target_recall;         /* > 0: tune the index's default probes/candidates for this recall@10; 0: no tuning */
    int32_t rerank;               /* a hashidx_rerank: the index's default ranking */
    float supervision_weight;     /* labels against geometry, 0..1; < 0: the default (0.5) */
    const char *labels;           /* NULL, or one line per row: the row's labels, separated by commas (empty: none) */
    size_t labels_length;         /* bytes at `labels` */
    const char *model_from;       /* NULL, or the path of an index whose trained model (hash function and partitions)
                                     to build with instead of training: indexes built from one model hash and partition
                                     alike (the groups of a catalog); bits, partitions, seed, labels are then ignored */
} hashidx_build_options;

/* Fills `options` with the defaults above. */
void hashidx_build_options_init(hashidx_build_options *options);

typedef struct hashidx_build_summary {
    int64_t rows;
    int32_t dimension;
    int32_t bits;
    int32_t shards;
    int32_t partitions;
    int64_t bytes_on_disk;
    double seconds;
    int32_t tuned_probes;         /* 0 when the build was not tuned */
    int32_t tuned_candidates;
} hashidx_build_summary;

/*
 * Builds an index at `path` (a directory; an index already there is replaced atomically) from
 * `rows` vectors of `dimension` elements at `vectors`.
 * `ids`: NULL (ids are the row numbers) or `ids_length` bytes of one id per row, '\n'-separated.
 * `attributes`: NULL or `attributes_length` bytes of JSON lines, one object per row, or keyed
 * by id with "_id" (the format of `hashidx build --attributes`).
 * `options`: NULL for the defaults. `summary`: NULL, or filled on success.
 * Runs on the caller's thread and the library's worker threads; reads the inputs only during
 * the call.
 */
hashidx_status hashidx_build(const char *path, const void *vectors, hashidx_dtype dtype, int64_t rows,
                             int64_t dimension, const char *ids, size_t ids_length, const char *attributes,
                             size_t attributes_length, const hashidx_build_options *options,
                             hashidx_build_summary *summary, hashidx_error *error);

/* ---------- Opening ---------- */

typedef struct hashidx_index hashidx_index;

/* Opens the newest committed generation of the index at `path` into `*index`. */
hashidx_status hashidx_open(const char *path, hashidx_index **index, hashidx_error *error);
/* Opens the newest committed generation of the same index as `index` (to see a writer's
   commits) into `*newer`; `index` stays open and unchanged. */
hashidx_status hashidx_reopen(const hashidx_index *index, hashidx_index **newer, hashidx_error *error);
/* Releases the handle. NULL is ignored. No other call may be using it. */
void hashidx_close(hashidx_index *index);

/* Live items, the index's dimension and code bits; 0 for a NULL handle. */
int64_t hashidx_count(const hashidx_index *index);
int64_t hashidx_dimension(const hashidx_index *index);
/* 1 when the index was built with string ids, 0 when its ids are row numbers. */
int32_t hashidx_has_string_ids(const hashidx_index *index);

/* A JSON object describing the index (path, generation, count, rows, dimension, bits,
   partitions, shards, buffered (items in the write log, searched from memory), log_bytes,
   format_version, list_balance and list_balance_at_fit (P·Σn²/N² of the partitions' lists now
   and when they were fitted; null without partitions or when not recorded), drift and growth
   (as `hashidx info` shows them; null when unknown), partition_arena_bytes (memory of the
   searcher's copy of the smaller shards' codes), bytes_on_disk, string_ids, default_probes,
   default_candidates, tuned, rerank, vector_type, attributes: {name: type}), written to
   `buffer` (`capacity` bytes, NUL-terminated). `*needed` (may be NULL) gets its length plus
   one; HASHIDX_ERR_BUFFER_TOO_SMALL when that exceeds `capacity`. */
hashidx_status hashidx_info_json(const hashidx_index *index, char *buffer, size_t capacity, size_t *needed,
                                 hashidx_error *error);

/* Reads every vector and id block of the index's shards and checks its checksum (what
   `hashidx info --verify` does; opening checks everything else). `files`: NULL for every
   shard, or shard file names (`shard-000003-000000.hidx`) one per line, `files_length`
   bytes, to check only those (names not in this generation are skipped). Returns
   HASHIDX_ERR_CORRUPT_INDEX naming the file and the part that does not match. Reads the whole
   shards: as slow as reading them from disk. */
hashidx_status hashidx_verify(const hashidx_index *index, const char *files, size_t files_length, hashidx_error *error);

/* ---------- Searching ---------- */

typedef struct hashidx_search_options {
    int32_t k;                    /* results per query, > 0 */
    int32_t probes;               /* partitions scanned; 0: the index's default */
    int32_t candidates;           /* candidates re-ranked; 0: the index's default */
    int32_t shortlist;            /* asymmetric shortlist factor, 1..1000; 0: the default (2) */
    int32_t rerank;               /* a hashidx_rerank */
    float blend_weight;           /* 0..1 for a blend ranking; < 0: the index's */
    int32_t threads;              /* threads for a batch of queries; 0: all cores */
    const char *filter;           /* NULL, or a filter expression (docs/FILTERS.md), NUL-terminated */
} hashidx_search_options;

/* Fills `options` with k = 10 and the index's defaults. */
void hashidx_search_options_init(hashidx_search_options *options);

/*
 * Searches `count` queries (`count × dimension` elements at `queries`, the index's dimension)
 * and writes, for query i, its results best first to rows[i*k ..< i*k + k] and
 * scores[i*k ..< i*k + k] (k = options->k); `found` (may be NULL) gets each query's number of
 * results. Slots past a query's results get row -1 and score -INFINITY (fewer items than k,
 * or fewer that pass the filter). Rows are the items' row numbers; hashidx_ids_of_rows turns
 * them into ids. One query runs on the calling thread; several run on options->threads
 * threads. A bad query fails the whole call, naming its row.
 */
hashidx_status hashidx_search(const hashidx_index *index, const void *queries, hashidx_dtype dtype, int64_t count,
                              int64_t dimension, const hashidx_search_options *options, int64_t *rows, float *scores,
                              int32_t *found, hashidx_error *error);

/* The items most similar to the item `id` (NUL-terminated), leaving it out; output as one
   query of hashidx_search. HASHIDX_ERR_UNKNOWN_ID when no item has it. */
hashidx_status hashidx_search_by_id(const hashidx_index *index, const char *id, const hashidx_search_options *options,
                                    int64_t *rows, float *scores, int32_t *found, hashidx_error *error);

/* ---------- Items ---------- */

/* The row of the item `id` into `*row`; HASHIDX_ERR_UNKNOWN_ID when none has it. */
hashidx_status hashidx_row_of_id(const hashidx_index *index, const char *id, int64_t *row, hashidx_error *error);

/* The ids of `count` rows, each followed by '\n' (a row of -1 gives an empty line), into
   `buffer` (`capacity` bytes, NUL-terminated); `*needed` (may be NULL) gets the length plus
   one, HASHIDX_ERR_BUFFER_TOO_SMALL when it exceeds `capacity`. A row that is not a live
   item's is HASHIDX_ERR_INVALID_ARGUMENT. */
hashidx_status hashidx_ids_of_rows(const hashidx_index *index, const int64_t *rows, size_t count, char *buffer,
                                   size_t capacity, size_t *needed, hashidx_error *error);

/* The stored vector of `row` (reconstructed from the unit direction and the norm: float16
   indexes give it to about 1e-3 of its norm) into `vector` (`dimension` floats). */
hashidx_status hashidx_vector(const hashidx_index *index, int64_t row, float *vector, int64_t dimension,
                              hashidx_error *error);

/* The attributes of `row` as one JSON object (keys sorted), into `buffer` as
   hashidx_info_json does. `fields`: NULL for all, or comma-separated names. */
hashidx_status hashidx_attributes_json(const hashidx_index *index, int64_t row, const char *fields, char *buffer,
                                       size_t capacity, size_t *needed, hashidx_error *error);

/* ---------- Writing ---------- */

typedef struct hashidx_writer hashidx_writer;

/* Opens the index at `path` for writing (takes its lock: one writer per index, across
   processes) into `*writer`. `threads`: encoding threads, 0: all cores. */
hashidx_status hashidx_writer_open(const char *path, int32_t threads, hashidx_writer **writer, hashidx_error *error);

/* Adds `rows` vectors as new items; `ids` as in hashidx_build (NULL in an index whose ids are
   row numbers: the next numbers); `attributes`: NULL or JSON lines, one per row. Pending until
   committed. */
hashidx_status hashidx_writer_add(hashidx_writer *writer, const void *vectors, hashidx_dtype dtype, int64_t rows,
                                  int64_t dimension, const char *ids, size_t ids_length, const char *attributes,
                                  size_t attributes_length, hashidx_error *error);
/* As hashidx_writer_add, replacing items whose id exists (ids required). */
hashidx_status hashidx_writer_upsert(hashidx_writer *writer, const void *vectors, hashidx_dtype dtype, int64_t rows,
                                     int64_t dimension, const char *ids, size_t ids_length, const char *attributes,
                                     size_t attributes_length, hashidx_error *error);
/* Deletes the items with `ids` ('\n'-separated). Unless `ignore_missing`, an id no item has
   is HASHIDX_ERR_UNKNOWN_ID and nothing is deleted; `*missing` (may be NULL) gets how many
   ids were not found. */
hashidx_status hashidx_writer_delete(hashidx_writer *writer, const char *ids, size_t ids_length, int32_t ignore_missing,
                                     int64_t *missing, hashidx_error *error);

typedef struct hashidx_commit_summary {
    uint64_t generation;
    int64_t added;
    int64_t deleted;
    int64_t count;                /* live items after the commit */
    double seconds;
} hashidx_commit_summary;

/* Makes every pending change visible and durable at once. `summary` may be NULL. */
hashidx_status hashidx_writer_commit(hashidx_writer *writer, hashidx_commit_summary *summary, hashidx_error *error);
/* Commits every pending change to the index's write log (LOG-<generation>, docs/FORMAT.md §4):
   one record appended and fsynced, no shard written. Readers that open or reopen the index
   see the changes, searched from memory, until hashidx_writer_commit or hashidx_writer_flush
   writes them to a shard. `summary` may be NULL. */
hashidx_status hashidx_writer_commit_log(hashidx_writer *writer, hashidx_commit_summary *summary, hashidx_error *error);
/* Writes what the write log holds to a shard (a new generation) without holding the writer:
   other threads may add, delete and commit to the log meanwhile. `*flushed` (may be NULL) is
   0 when the log held nothing (and `summary` is left as it was). */
hashidx_status hashidx_writer_flush(hashidx_writer *writer, hashidx_commit_summary *summary, int32_t *flushed,
                                    hashidx_error *error);
/* Drops every uncommitted change (changes committed to the write log stay). */
void hashidx_writer_rollback(hashidx_writer *writer);
/* 1 when the writer holds uncommitted changes. */
int32_t hashidx_writer_has_changes(hashidx_writer *writer);
/* Rewrites shards with deletions and small shards (with `retrain`: retrains the model and the
   partitions on the live items) and commits. Needs no pending changes. */
hashidx_status hashidx_writer_compact(hashidx_writer *writer, int32_t retrain, hashidx_error *error);
/* Releases the index's lock; later calls on the writer fail, and hashidx_writer_free still
   releases the handle. HASHIDX_ERR_PENDING_CHANGES (the writer stays open) while there are
   uncommitted changes. */
hashidx_status hashidx_writer_close(hashidx_writer *writer, hashidx_error *error);
/* Rolls back what is pending, releases the lock if held and frees the handle. NULL is ignored. */
void hashidx_writer_free(hashidx_writer *writer);

#ifdef __cplusplus
}
#endif

#endif /* HASHIDX_H */
