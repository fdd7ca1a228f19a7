// CRC-32C (Castagnoli polynomial 0x82F63B78, reflected), the checksum of the index files:
// a portable slicing-by-8 table kernel and the SSE4.2 CRC32 instruction, eight bytes per
// step. Both give the same value; hidx_crc32c uses the one the dispatch table chose (cpu.c).

#include "cpu.h"

#include <pthread.h>
#include <string.h>

/* crc_table[0] is the byte-at-a-time table; crc_table[t] advances a byte through t more
   zero bytes, so eight look-ups consume eight bytes. Built once, on first use. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xFF] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
}

uint32_t hidx_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&crc_table_once, crc_init_table);
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        v ^= c;
        c = crc_table[7][v & 0xFF] ^ crc_table[6][(v >> 8) & 0xFF] ^ crc_table[5][(v >> 16) & 0xFF] ^
            crc_table[4][(v >> 24) & 0xFF] ^ crc_table[3][(v >> 32) & 0xFF] ^ crc_table[2][(v >> 40) & 0xFF] ^
            crc_table[1][(v >> 48) & 0xFF] ^ crc_table[0][(v >> 56) & 0xFF];
        p += 8;
        length -= 8;
    }
    while (length--) c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

#if HIDX_X86
/* SSE4.2: the CRC32 instruction computes exactly this polynomial, 8 bytes per instruction. */
__attribute__((target("sse4.2")))
uint32_t hidx_crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

uint32_t hidx_crc32c(uint32_t crc, const void *data, size_t length) {
    return hidx_dispatch()->crc32c(crc, data, length);
}
