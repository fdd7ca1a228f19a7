/* The C interface end to end (scripts/c-api-test.sh builds and runs it, plainly and under
   AddressSanitizer): build from caller buffers with ids, attributes and labels; open, info,
   search one and many (the same answers), exact answers when every partition is probed,
   filters, search by id, ids, vectors and attributes; the writer's add, upsert, delete,
   commit, rollback and close; and a status with a message — never a crash — for every bad
   input. Exits non-zero on the first failed check. */
#define _POSIX_C_SOURCE 200809L
#include "hashidx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define OK(call) do { hashidx_error e_; hashidx_status s_ = (call); \
    if (s_ != HASHIDX_OK) { fprintf(stderr, "FATAL %s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #call, (int)s_, e_.message); exit(1); } } while (0)
/* `call` (whose last argument is &e) must fail with `code` and a non-empty message. */
#define FAILS(want, call) do { hashidx_error e = {0}; hashidx_status s_ = (call); \
    CHECK(s_ == (want) && e.code == (int)(want) && e.message[0] != 0, "%s: expected status %d, got %d (%s)", #call, (int)(want), (int)s_, e.message); } while (0)

enum { N = 3000, D = 24, K = 10 };

/* Deterministic pseudo-random numbers (xorshift). */
static uint64_t rng = 88172645463325252ULL;
static float uniform(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1; }

static float dot(const float *a, const float *b) { float s = 0; for (int i = 0; i < D; i++) s += a[i] * b[i]; return s; }
static float norm(const float *a) { return sqrtf(dot(a, a)); }

/* Half precision of x (round to nearest; no subnormals or overflow here). */
static uint16_t half(float x) {
    uint32_t u; memcpy(&u, &x, 4);
    uint32_t sign = (u >> 16) & 0x8000, exp = (u >> 23) & 0xFF, mant = u & 0x7FFFFF;
    if (exp == 0) return (uint16_t)sign;
    int e = (int)exp - 127 + 15;
    if (e <= 0) return (uint16_t)sign;
    uint32_t h = sign | ((uint32_t)e << 10) | (mant >> 13);
    if (mant & 0x1000) h++;
    return (uint16_t)h;
}

int main(void) {
    CHECK(hashidx_abi_version() == HASHIDX_ABI_VERSION, "ABI %u vs header %d", hashidx_abi_version(), HASHIDX_ABI_VERSION);
    CHECK(strlen(hashidx_version()) > 0, "empty version");

    char dir[] = "/tmp/hashidx-c-test-XXXXXX";
    const char *tmp = getenv("TMPDIR");
    char templ[512];
    snprintf(templ, sizeof templ, "%s/hashidx-c-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *root = mkdtemp(templ);
    if (!root) root = mkdtemp(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/c.hidx", root);

    /* 3,000 rows around 30 centres; ids "item-i"; attributes: colour by i % 3, price i. */
    float *base = malloc(sizeof(float) * N * D), centres[30][D];
    for (int c = 0; c < 30; c++) for (int j = 0; j < D; j++) centres[c][j] = uniform();
    for (int i = 0; i < N; i++) for (int j = 0; j < D; j++) base[i * D + j] = centres[i % 30][j] + 0.3f * uniform();
    size_t idcap = N * 16, attrcap = N * 64, labcap = N * 8;
    char *ids = malloc(idcap), *attrs = malloc(attrcap), *labels = malloc(labcap);
    size_t idlen = 0, attrlen = 0, lablen = 0;
    static const char *colours[] = {"red", "green", "blue"};
    for (int i = 0; i < N; i++) {
        idlen += (size_t)snprintf(ids + idlen, idcap - idlen, "item-%d\n", i);
        attrlen += (size_t)snprintf(attrs + attrlen, attrcap - attrlen, "{\"colour\": \"%s\", \"price\": %d}\n", colours[i % 3], i);
        lablen += (size_t)snprintf(labels + lablen, labcap - lablen, "c%d\n", i % 30);
    }

    hashidx_build_options bo;
    hashidx_build_options_init(&bo);
    bo.bits = 64;
    bo.partitions = 16;
    bo.float32_vectors = 1;
    hashidx_build_summary bs;
    OK(hashidx_build(path, base, HASHIDX_FLOAT32, N, D, ids, idlen, attrs, attrlen, &bo, &bs, &e_));
    CHECK(bs.rows == N && bs.dimension == D && bs.bits == 64 && bs.partitions == 16, "summary %lld %d %d %d",
          (long long)bs.rows, bs.dimension, bs.bits, bs.partitions);

    hashidx_index *index = NULL;
    OK(hashidx_open(path, &index, &e_));
    CHECK(hashidx_count(index) == N && hashidx_dimension(index) == D && hashidx_has_string_ids(index) == 1, "count/dim/ids");

    /* Info: too small a buffer says how much it needs. */
    size_t needed = 0;
    char small[8];
    FAILS(HASHIDX_ERR_BUFFER_TOO_SMALL, hashidx_info_json(index, small, sizeof small, &needed, &e));
    CHECK(needed > 8, "needed %zu", needed);
    char *info = malloc(needed);
    OK(hashidx_info_json(index, info, needed, NULL, &e_));
    CHECK(strstr(info, "\"count\":3000") && strstr(info, "\"colour\":\"string\""), "info %s", info);
    CHECK(strstr(info, "\"drift\":null") && strstr(info, "\"partition_arena_bytes\":0"), "info %s", info);
    free(info);

    /* Verify: every shard, then a list naming one that is not in the index (skipped). */
    OK(hashidx_verify(index, NULL, 0, &e_));
    static const char other[] = "shard-999999-000000.hidx\n";
    OK(hashidx_verify(index, other, sizeof other - 1, &e_));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_verify(NULL, NULL, 0, &e));

    /* Exact answers when every partition is probed and every row re-ranked. */
    hashidx_search_options so;
    hashidx_search_options_init(&so);
    so.k = K;
    so.probes = 16;
    so.candidates = N;
    enum { Q = 20 };
    float queries[Q * D];
    for (int i = 0; i < Q * D; i++) queries[i] = base[(7 * (i / D) + 1) * D + i % D] + 0.1f * uniform();
    int64_t rows[Q * K], rows1[K];
    float scores[Q * K], scores1[K];
    int32_t found[Q];
    OK(hashidx_search(index, queries, HASHIDX_FLOAT32, Q, D, &so, rows, scores, found, &e_));
    for (int q = 0; q < Q; q++) {
        /* Brute force: the true best score, and no result better than it. */
        const float *x = queries + q * D;
        float best = -2;
        int bestRow = -1;
        for (int i = 0; i < N; i++) { float c = dot(x, base + i * D) / (norm(x) * norm(base + i * D)); if (c > best) { best = c; bestRow = i; } }
        CHECK(found[q] == K, "query %d found %d", q, found[q]);
        CHECK(rows[q * K] == bestRow && fabsf(scores[q * K] - best) < 1e-4f, "query %d: top %lld (%f), exact %d (%f)",
              q, (long long)rows[q * K], scores[q * K], bestRow, best);
        for (int j = 1; j < K; j++) CHECK(scores[q * K + j] <= scores[q * K + j - 1], "query %d not sorted", q);
        /* One query alone gives the same answer as in the batch. */
        OK(hashidx_search(index, x, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e_));
        CHECK(memcmp(rows1, rows + q * K, sizeof rows1) == 0 && memcmp(scores1, scores + q * K, sizeof scores1) == 0,
              "query %d: alone differs from batch", q);
    }

    /* float16 queries: the same top result. */
    uint16_t hq[D];
    for (int j = 0; j < D; j++) hq[j] = half(queries[j]);
    OK(hashidx_search(index, hq, HASHIDX_FLOAT16, 1, D, &so, rows1, scores1, NULL, &e_));
    CHECK(rows1[0] == rows[0], "float16 query: %lld vs %lld", (long long)rows1[0], (long long)rows[0]);

    /* Filters: only green items under 1,000. */
    so.filter = "colour = \"green\" AND price < 1000";
    OK(hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, found, &e_));
    CHECK(found[0] == K, "filtered found %d", found[0]);
    for (int j = 0; j < found[0]; j++) CHECK(rows1[j] % 3 == 1 && rows1[j] < 1000, "filtered row %lld", (long long)rows1[j]);
    so.filter = "colour = ";
    FAILS(HASHIDX_ERR_INVALID_FILTER, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    so.filter = "size = 3";
    FAILS(HASHIDX_ERR_INVALID_FILTER, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    so.filter = NULL;

    /* k beyond the items: what exists, then -1 / -inf. */
    so.k = N + 5;
    int64_t *all = malloc(sizeof(int64_t) * (N + 5));
    float *allScores = malloc(sizeof(float) * (N + 5));
    OK(hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, all, allScores, found, &e_));
    CHECK(found[0] == N && all[N] == -1 && all[N + 4] == -1 && isinf(allScores[N]) && allScores[N] < 0, "k > count: %d", found[0]);
    free(all); free(allScores);
    so.k = K;

    /* By id, ids, rows, vectors, attributes. */
    OK(hashidx_search_by_id(index, "item-42", &so, rows1, scores1, found, &e_));
    CHECK(found[0] == K && rows1[0] != 42, "by id");
    FAILS(HASHIDX_ERR_UNKNOWN_ID, hashidx_search_by_id(index, "nobody", &so, rows1, scores1, NULL, &e));
    int64_t r = -1;
    OK(hashidx_row_of_id(index, "item-17", &r, &e_));
    CHECK(r == 17, "row of item-17: %lld", (long long)r);
    FAILS(HASHIDX_ERR_UNKNOWN_ID, hashidx_row_of_id(index, "item-99999", &r, &e));
    int64_t some[3] = {5, -1, 2999};
    char idbuf[64];
    OK(hashidx_ids_of_rows(index, some, 3, idbuf, sizeof idbuf, NULL, &e_));
    CHECK(strcmp(idbuf, "item-5\n\nitem-2999\n") == 0, "ids %s", idbuf);
    int64_t badRows[1] = {N};
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_ids_of_rows(index, badRows, 1, idbuf, sizeof idbuf, NULL, &e));
    float v[D];
    OK(hashidx_vector(index, 9, v, D, &e_));
    for (int j = 0; j < D; j++) CHECK(fabsf(v[j] - base[9 * D + j]) < 1e-4f, "vector[%d] %f vs %f", j, v[j], base[9 * D + j]);
    FAILS(HASHIDX_ERR_DIMENSION, hashidx_vector(index, 9, v, D + 1, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_vector(index, -3, v, D, &e));
    char abuf[128];
    OK(hashidx_attributes_json(index, 4, NULL, abuf, sizeof abuf, NULL, &e_));
    CHECK(strcmp(abuf, "{\"colour\":\"green\",\"price\":4}") == 0, "attributes %s", abuf);
    OK(hashidx_attributes_json(index, 4, "price", abuf, sizeof abuf, NULL, &e_));
    CHECK(strcmp(abuf, "{\"price\":4}") == 0, "fields %s", abuf);
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_attributes_json(index, 4, "weight", abuf, sizeof abuf, NULL, &e));

    /* Bad inputs: statuses, never a crash. */
    float nanq[D];
    memcpy(nanq, queries, sizeof nanq);
    nanq[3] = NAN;
    FAILS(HASHIDX_ERR_NON_FINITE, hashidx_search(index, nanq, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    float zero[D] = {0};
    FAILS(HASHIDX_ERR_ZERO_VECTOR, hashidx_search(index, zero, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_DIMENSION, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D - 1, &so, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, (hashidx_dtype)7, 1, D, &so, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, HASHIDX_FLOAT32, -1, D, &so, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, NULL, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, NULL, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(NULL, queries, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, NULL, rows1, scores1, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, HASHIDX_FLOAT32, INT64_MAX, D, &so, rows1, scores1, NULL, &e));
    so.k = 0;
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    so.k = K;
    so.probes = -4;
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_search(index, queries, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e));
    so.probes = 16;
    hashidx_index *none = NULL;
    FAILS(HASHIDX_ERR_NOT_AN_INDEX, hashidx_open(root, &none, &e));
    CHECK(none == NULL, "failed open left a handle");
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_open(NULL, &none, &e));
    char bad[700];
    snprintf(bad, sizeof bad, "%s/bad.hidx", root);
    FAILS(HASHIDX_ERR_DUPLICATE_ID, hashidx_build(bad, base, HASHIDX_FLOAT32, 2, D, "a\na\n", 4, NULL, 0, NULL, NULL, &e));
    FAILS(HASHIDX_ERR_ID_COUNT, hashidx_build(bad, base, HASHIDX_FLOAT32, 3, D, "a\nb\n", 4, NULL, 0, NULL, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ATTRIBUTES, hashidx_build(bad, base, HASHIDX_FLOAT32, 1, D, NULL, 0, "{\"a\": {}}", 9, NULL, NULL, &e));
    FAILS(HASHIDX_ERR_EMPTY_INPUT, hashidx_build(bad, base, HASHIDX_FLOAT32, 0, D, NULL, 0, NULL, 0, NULL, NULL, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_build(bad, base, HASHIDX_FLOAT32, 10, 0, NULL, 0, NULL, 0, NULL, NULL, &e));
    bo.bits = 65;
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_build(bad, base, HASHIDX_FLOAT32, 100, D, NULL, 0, NULL, 0, &bo, NULL, &e));
    bo.bits = 64;
    bo.labels = labels;
    bo.labels_length = 3;   /* one line for 100 rows */
    FAILS(HASHIDX_ERR_MALFORMED_INPUT, hashidx_build(bad, base, HASHIDX_FLOAT32, 100, D, NULL, 0, NULL, 0, &bo, NULL, &e));
    hashidx_error longError;
    hashidx_status s = hashidx_row_of_id(index, "\xff\xfe", &r, &longError);
    CHECK(s == HASHIDX_ERR_INVALID_ARGUMENT, "bad UTF-8 id: %d", (int)s);

    /* A supervised build from labels, float16 input. */
    uint16_t *hbase = malloc(sizeof(uint16_t) * N * D);
    for (int i = 0; i < N * D; i++) hbase[i] = half(base[i]);
    char spath[700];
    snprintf(spath, sizeof spath, "%s/labelled.hidx", root);
    bo.labels = labels;
    bo.labels_length = lablen;
    bo.partitions = 0;
    OK(hashidx_build(spath, hbase, HASHIDX_FLOAT16, N, D, NULL, 0, NULL, 0, &bo, &bs, &e_));
    hashidx_index *labelled = NULL;
    OK(hashidx_open(spath, &labelled, &e_));
    CHECK(hashidx_has_string_ids(labelled) == 0, "row-number ids");
    info = malloc(4096);
    OK(hashidx_info_json(labelled, info, 4096, NULL, &e_));
    CHECK(strstr(info, "\"rerank\":\"blend\""), "supervised index ranks by blend: %s", info);
    free(info);
    hashidx_close(labelled);

    /* The writer: add, upsert, delete, commit; a reopened handle sees them, the old one not. */
    hashidx_writer *w = NULL;
    OK(hashidx_writer_open(path, 0, &w, &e_));
    hashidx_writer *second = NULL;
    FAILS(HASHIDX_ERR_IO, hashidx_writer_open(path, 0, &second, &e));
    float extra[2 * D];
    for (int j = 0; j < 2 * D; j++) extra[j] = uniform();
    OK(hashidx_writer_add(w, extra, HASHIDX_FLOAT32, 2, D, "new-1\nnew-2", 11, "{\"colour\":\"red\"}\n{}\n", 20, &e_));
    FAILS(HASHIDX_ERR_ID_EXISTS, hashidx_writer_add(w, extra, HASHIDX_FLOAT32, 1, D, "item-3", 6, NULL, 0, &e));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_writer_upsert(w, extra, HASHIDX_FLOAT32, 1, D, NULL, 0, NULL, 0, &e));
    OK(hashidx_writer_upsert(w, extra, HASHIDX_FLOAT32, 1, D, "item-3", 6, NULL, 0, &e_));
    int64_t missing = -1;
    FAILS(HASHIDX_ERR_UNKNOWN_ID, hashidx_writer_delete(w, "item-0\nghost", 12, 0, &missing, &e));
    OK(hashidx_writer_delete(w, "item-0\nghost", 12, 1, &missing, &e_));
    CHECK(missing == 1, "missing %lld", (long long)missing);
    CHECK(hashidx_writer_has_changes(w) == 1, "pending");
    FAILS(HASHIDX_ERR_PENDING_CHANGES, hashidx_writer_close(w, &e));
    FAILS(HASHIDX_ERR_PENDING_CHANGES, hashidx_writer_compact(w, 0, &e));
    hashidx_commit_summary cs;
    OK(hashidx_writer_commit(w, &cs, &e_));
    CHECK(cs.count == N + 1 && cs.added == 3 && cs.deleted == 2, "commit: count %lld added %lld deleted %lld",
          (long long)cs.count, (long long)cs.added, (long long)cs.deleted);
    CHECK(hashidx_count(index) == N, "the open snapshot is unchanged");
    hashidx_index *newer = NULL;
    OK(hashidx_reopen(index, &newer, &e_));
    CHECK(hashidx_count(newer) == N + 1, "reopened count %lld", (long long)hashidx_count(newer));
    FAILS(HASHIDX_ERR_UNKNOWN_ID, hashidx_row_of_id(newer, "item-0", &r, &e));
    OK(hashidx_search(newer, extra, HASHIDX_FLOAT32, 1, D, &so, rows1, scores1, NULL, &e_));
    OK(hashidx_ids_of_rows(newer, rows1, 1, idbuf, sizeof idbuf, NULL, &e_));
    CHECK(strcmp(idbuf, "new-1\n") == 0 || strcmp(idbuf, "item-3\n") == 0, "an added vector finds itself: %s", idbuf);
    /* Rollback drops; close releases the lock; calls after close fail; free is always safe. */
    OK(hashidx_writer_delete(w, "new-2", 5, 0, NULL, &e_));
    hashidx_writer_rollback(w);
    CHECK(hashidx_writer_has_changes(w) == 0, "rolled back");
    OK(hashidx_writer_compact(w, 0, &e_));
    OK(hashidx_writer_close(w, &e_));
    FAILS(HASHIDX_ERR_INVALID_ARGUMENT, hashidx_writer_commit(w, NULL, &e));
    hashidx_writer_free(w);
    OK(hashidx_writer_open(path, 1, &w, &e_));
    OK(hashidx_writer_delete(w, "new-2", 5, 0, NULL, &e_));
    hashidx_writer_free(w);   /* pending changes dropped, lock released */
    /* The write log: a commit there is seen by a reopened handle and by info_json; flush
       writes it to a shard (and says when there was nothing to write). */
    OK(hashidx_writer_open(path, 1, &w, &e_));
    OK(hashidx_writer_add(w, extra + D, HASHIDX_FLOAT32, 1, D, "logged-1", 8, NULL, 0, &e_));
    OK(hashidx_writer_commit_log(w, &cs, &e_));
    CHECK(cs.added == 1 && cs.count == N + 2, "log commit: added %lld count %lld", (long long)cs.added, (long long)cs.count);
    hashidx_index *logged = NULL;
    OK(hashidx_open(path, &logged, &e_));
    CHECK(hashidx_count(logged) == N + 2, "a reader replays the log: %lld", (long long)hashidx_count(logged));
    OK(hashidx_row_of_id(logged, "logged-1", &r, &e_));
    needed = 0;
    char infobuf[4096];
    OK(hashidx_info_json(logged, infobuf, sizeof infobuf, &needed, &e_));
    CHECK(strstr(infobuf, "\"buffered\":1,") != NULL, "info shows the buffered item: %s", infobuf);
    hashidx_close(logged);
    int32_t flushed = -1;
    OK(hashidx_writer_flush(w, &cs, &flushed, &e_));
    CHECK(flushed == 1 && cs.count == N + 2, "flush: %d count %lld", flushed, (long long)cs.count);
    OK(hashidx_writer_flush(w, NULL, &flushed, &e_));
    CHECK(flushed == 0, "nothing left to flush");
    hashidx_writer_free(w);
    hashidx_writer_free(NULL);
    hashidx_close(newer);
    hashidx_close(index);
    hashidx_close(NULL);

    free(base); free(hbase); free(ids); free(attrs); free(labels);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    if (failures) { fprintf(stderr, "%d checks failed\n", failures); return 1; }
    printf("C API: all checks passed\n");
    return 0;
}
