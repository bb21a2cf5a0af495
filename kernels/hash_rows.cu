// SHA-256 of every row of a matrix, on the device: out[i] =
// SHA-256(prefix ‖ uint32be(i) ‖ row_i), the Merkle leaves of package commit,
// so that committing to a matrix moves 32 bytes per row over the bus instead
// of the row. One thread per row (FIPS 180-4 §6.2).
#include "simt.h"

DEVICE uint32_t rotr32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

DEVICE void sha256_block(uint32_t h[8], const unsigned char blk[64]) {
  const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = ((uint32_t)blk[4 * i] << 24) | ((uint32_t)blk[4 * i + 1] << 16) | ((uint32_t)blk[4 * i + 2] << 8) |
           (uint32_t)blk[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
    uint32_t t2 = (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

// hash_rows hashes rows of row_bytes bytes each (the matrix's little-endian
// canonical encoding is its device layout).
// Launch with any block size, ⌈rows/block⌉ blocks.
KERNEL void hash_rows(const unsigned char* data, long long rows, long long row_bytes, const unsigned char* prefix,
                      long long prefix_len, unsigned char* out) {
  long long row = (long long)BID_X * BDIM_X + TID_X;
  if (row >= rows) return;
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char blk[64];
  int fill = 0;
  long long total = prefix_len + 4 + row_bytes;
  const unsigned char* src = data + row * row_bytes;
  for (long long i = 0; i < total; i++) {
    unsigned char byte;
    if (i < prefix_len)
      byte = prefix[i];
    else if (i < prefix_len + 4)
      byte = (unsigned char)(row >> (8 * (3 - (i - prefix_len))));
    else
      byte = src[i - prefix_len - 4];
    blk[fill++] = byte;
    if (fill == 64) {
      sha256_block(h, blk);
      fill = 0;
    }
  }
  // Padding: 0x80, zeros, 64-bit big-endian bit length.
  blk[fill++] = 0x80;
  if (fill > 56) {
    while (fill < 64) blk[fill++] = 0;
    sha256_block(h, blk);
    fill = 0;
  }
  while (fill < 56) blk[fill++] = 0;
  unsigned long long bits = (unsigned long long)total * 8;
  for (int i = 0; i < 8; i++) blk[56 + i] = (unsigned char)(bits >> (8 * (7 - i)));
  sha256_block(h, blk);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) out[row * 32 + 4 * i + j] = (unsigned char)(h[i] >> (8 * (3 - j)));
}
