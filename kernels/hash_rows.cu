// The row leaves of matrix commitments on the device (docs/PROTOCOL.md §3):
// leaf_i = BLAKE3 keyed_hash(key, row_i), row_i the matrix's little-endian
// canonical bytes (its device layout), so that committing to a matrix moves
// 32 bytes per row over the bus instead of the row.
//
// BLAKE3 (the BLAKE3 paper, §2) splits a row into 1 KiB chunks that hash
// independently and merge in a binary tree, so the work is two kernels:
//
//   blake3_chunks  one thread a chunk: its chaining value (CV), 32 bytes.
//                  When a row is a single chunk, that chunk is the root and
//                  its output is the leaf.
//   blake3_parents one thread a parent: one level of BLAKE3's tree for every
//                  row, launched once per level (⌈log₂ chunks⌉ times), the
//                  top level with the ROOT flag giving the leaves.
//
// blake3_chunk_cv is the interface a GEMM epilogue can call on a 1 KiB tile
// of int32 output it holds (256 columns of a row): tiles in, CVs out, and
// blake3_parents finishes the rows.
#include "simt.h"

#define B3_CHUNK_START 1u
#define B3_CHUNK_END 2u
#define B3_PARENT 4u
#define B3_ROOT 8u
#define B3_KEYED_HASH 16u
#define B3_CHUNK_LEN 1024
#define B3_BLOCK_LEN 64

DEVICE uint32_t b3_rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

DEVICE void b3_g(uint32_t v[16], int a, int b, int c, int d, uint32_t mx, uint32_t my) {
  v[a] = v[a] + v[b] + mx;
  v[d] = b3_rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = b3_rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + my;
  v[d] = b3_rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = b3_rotr(v[b] ^ v[c], 7);
}

// b3_compress replaces cv with the first half of the compression function's
// output (the BLAKE3 paper, §2.2): the next chaining value, or the first 32
// bytes of the output when flags has ROOT. Unrolled, the message
// permutation between rounds is register renaming.
DEVICE void b3_compress(uint32_t cv[8], const uint32_t block[16], unsigned long long counter, uint32_t block_len,
                        uint32_t flags) {
  uint32_t v[16] = {cv[0],      cv[1],      cv[2],      cv[3],      cv[4],
                    cv[5],      cv[6],      cv[7],      0x6A09E667, 0xBB67AE85,
                    0x3C6EF372, 0xA54FF53A, (uint32_t)counter, (uint32_t)(counter >> 32), block_len,
                    flags};
  uint32_t m[16];
  UNROLL
  for (int i = 0; i < 16; i++) m[i] = block[i];
  UNROLL
  for (int r = 0; r < 7; r++) {
    b3_g(v, 0, 4, 8, 12, m[0], m[1]);
    b3_g(v, 1, 5, 9, 13, m[2], m[3]);
    b3_g(v, 2, 6, 10, 14, m[4], m[5]);
    b3_g(v, 3, 7, 11, 15, m[6], m[7]);
    b3_g(v, 0, 5, 10, 15, m[8], m[9]);
    b3_g(v, 1, 6, 11, 12, m[10], m[11]);
    b3_g(v, 2, 7, 8, 13, m[12], m[13]);
    b3_g(v, 3, 4, 9, 14, m[14], m[15]);
    // The permutation of §2.2 (Table 2): word i of the next round is word
    // perm[i] of this one.
    const uint32_t t[16] = {m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13],
                            m[1], m[11], m[12], m[5], m[9], m[14], m[15], m[8]};
    UNROLL
    for (int i = 0; i < 16; i++) m[i] = t[i];
  }
  UNROLL
  for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

// b3_load_block reads block bytes [0, len) of p as little-endian words,
// zero-padded to 64 bytes: four 16-byte loads when the block is whole and
// aligned, else byte by byte. Every index is a constant once unrolled, so m
// stays in registers.
DEVICE void b3_load_block(uint32_t m[16], const unsigned char* p, int len) {
  if (len == B3_BLOCK_LEN && ((uintptr_t)p & 15) == 0) {
    UNROLL
    for (int q = 0; q < 4; q++) ld_global_v4(p + 16 * q, &m[4 * q]);
    return;
  }
  UNROLL
  for (int i = 0; i < 16; i++) {
    uint32_t w = 0;
    UNROLL
    for (int k = 0; k < 4; k++)
      if (4 * i + k < len) w |= (uint32_t)p[4 * i + k] << (8 * k);
    m[i] = w;
  }
}

// blake3_chunk_cv hashes one chunk (len ≤ 1024 bytes at p) at chunk counter
// under key: cv gets its chaining value, or, with end_flags = ROOT (a row of
// one chunk), the first 32 bytes of the row's hash.
DEVICE void blake3_chunk_cv(const uint32_t key[8], const unsigned char* p, int len, unsigned long long counter,
                            uint32_t end_flags, uint32_t cv[8]) {
  UNROLL
  for (int i = 0; i < 8; i++) cv[i] = key[i];
  int blocks = len == 0 ? 1 : (len + B3_BLOCK_LEN - 1) / B3_BLOCK_LEN;
  for (int b = 0; b < blocks; b++) {
    int n = len - B3_BLOCK_LEN * b;
    if (n > B3_BLOCK_LEN) n = B3_BLOCK_LEN;
    uint32_t m[16];
    b3_load_block(m, p + B3_BLOCK_LEN * b, n);
    uint32_t flags = B3_KEYED_HASH;
    if (b == 0) flags |= B3_CHUNK_START;
    if (b == blocks - 1) flags |= B3_CHUNK_END | end_flags;
    b3_compress(cv, m, counter, (uint32_t)n, flags);
  }
}

DEVICE void b3_key(uint32_t key[8], unsigned long long k0, unsigned long long k1, unsigned long long k2,
                   unsigned long long k3) {
  const unsigned long long k[4] = {k0, k1, k2, k3};
  UNROLL
  for (int i = 0; i < 4; i++) {
    key[2 * i] = (uint32_t)k[i];
    key[2 * i + 1] = (uint32_t)(k[i] >> 32);
  }
}

DEVICE long long b3_chunks_per_row(long long row_bytes) {
  return row_bytes <= B3_CHUNK_LEN ? 1 : (row_bytes + B3_CHUNK_LEN - 1) / B3_CHUNK_LEN;
}

// blake3_chunks: cvs[8·(r·cpr + j) …] = chunk j of row r's chaining value
// (eight little-endian words), cpr = ⌈row_bytes/1024⌉ chunks a row (1 for
// an empty row). The key is eight little-endian words, two per argument
// (k0 = word 0 | word 1 << 32, …). With cpr = 1 the outputs are the leaves.
// Launch with any block size, ⌈rows·cpr/block⌉ blocks.
KERNEL void blake3_chunks(const unsigned char* data, long long rows, long long row_bytes, unsigned long long k0,
                          unsigned long long k1, unsigned long long k2, unsigned long long k3, uint32_t* cvs) {
  long long cpr = b3_chunks_per_row(row_bytes);
  long long t = (long long)BID_X * BDIM_X + TID_X;
  if (t >= rows * cpr) return;
  long long r = t / cpr, j = t - r * cpr;
  long long len = row_bytes - B3_CHUNK_LEN * j;
  if (len > B3_CHUNK_LEN) len = B3_CHUNK_LEN;
  uint32_t key[8], cv[8];
  b3_key(key, k0, k1, k2, k3);
  blake3_chunk_cv(key, data + r * row_bytes + B3_CHUNK_LEN * j, (int)len, (unsigned long long)j,
                  cpr == 1 ? B3_ROOT : 0u, cv);
  UNROLL
  for (int i = 0; i < 8; i++) cvs[8 * t + i] = cv[i];
}

// b3_parent compresses two chaining values into their parent's (with
// extra = ROOT, the first 32 bytes of the hash).
DEVICE void b3_parent(const uint32_t key[8], const uint32_t l[8], const uint32_t r[8], uint32_t extra,
                      uint32_t out[8]) {
  uint32_t m[16];
  UNROLL
  for (int i = 0; i < 8; i++) {
    m[i] = l[i];
    m[8 + i] = r[i];
  }
  UNROLL
  for (int i = 0; i < 8; i++) out[i] = key[i];
  b3_compress(out, m, 0, B3_BLOCK_LEN, B3_KEYED_HASH | B3_PARENT | extra);
}

// blake3_parents merges one level of BLAKE3's tree for every row: in holds
// count ≥ 2 chaining values a row (row-major, eight little-endian words
// each), out gets ⌈count/2⌉ a row: node p is the parent of nodes 2p and
// 2p+1, or node 2p itself when it is the odd last one (BLAKE3's left
// subtrees are complete, so pairing neighbours level by level and carrying
// an odd last node up builds its tree). With count = 2 the parent is the
// root and out gets the leaves. One thread a node of out; launch with any
// block size, ⌈rows·⌈count/2⌉/block⌉ blocks, once per level.
KERNEL void blake3_parents(const uint32_t* in, long long rows, long long count, unsigned long long k0,
                           unsigned long long k1, unsigned long long k2, unsigned long long k3, uint32_t* out) {
  long long half = (count + 1) / 2;
  long long t = (long long)BID_X * BDIM_X + TID_X;
  if (t >= rows * half) return;
  long long r = t / half, p = t - r * half;
  const uint32_t* l = in + 8 * (r * count + 2 * p);
  uint32_t cv[8];
  if (2 * p + 1 < count) {
    uint32_t key[8], lv[8], rv[8];
    b3_key(key, k0, k1, k2, k3);
    UNROLL
    for (int i = 0; i < 8; i++) {
      lv[i] = l[i];
      rv[i] = l[8 + i];
    }
    b3_parent(key, lv, rv, count == 2 ? B3_ROOT : 0u, cv);
  } else {
    UNROLL
    for (int i = 0; i < 8; i++) cv[i] = l[i];
  }
  UNROLL
  for (int i = 0; i < 8; i++) out[8 * t + i] = cv[i];
}
