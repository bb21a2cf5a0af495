// Tests of the emulated Hopper primitives (mbarrier, bulk tensor copies,
// fence.proxy.async, wgmma), written against simt.h like any kernel. One
// kernel, hopper_probe, with flags that each leave out or break one step, so
// that a test can check the emulator turns that bug into a wrong result or an
// error.
#include "simt.h"

#define PROBE_NO_WAIT 1           // read the stage without waiting on its mbarrier
#define PROBE_WRONG_PARITY 2      // wait for parity 1 on a fresh barrier (returns at once)
#define PROBE_NO_INIT_FENCE 4     // no fence.proxy.async after mbarrier.init
#define PROBE_GENERIC_A 8         // stage A with generic stores instead of a bulk copy
#define PROBE_FENCE_A 16          // ... followed by fence.proxy.async
#define PROBE_NO_WGMMA_WAIT 32    // read the accumulators without wgmma.wait_group
#define PROBE_NO_WGMMA_FENCE 64   // wgmma.mma_async without wgmma.fence
#define PROBE_OVERWRITE 128       // change B in shared memory while the wgmma group is in flight
#define PROBE_EXPECT_MORE 256     // expect more transaction bytes than the copies bring (deadlock)
#define PROBE_SHIFT_A 512         // generic A three 128-byte rows into a swizzle pattern, base offset 3
#define PROBE_NO_BASE_OFFSET 1024 // ... described with base offset 0

// hopper_probe: one warpgroup. D (64×256 int32) = A (64×128) · B (256×128)ᵀ,
// where map_a and map_b are 128-byte-swizzled tensor maps of boxes 128×64
// and 128×256 (elements outside the tensor read as zero), and a_gen is A as
// a dense 64×128 matrix for the generic-store path. desc_swz is the swizzle
// mode written into the wgmma descriptors (1 = 128B is right).
KERNEL void hopper_probe(const void* map_a, const void* map_b, const int8_t* a_gen, int32_t* D, long long flags,
                         long long desc_swz) {
  DYNAMIC_SMEM(raw);
  unsigned char* smem = raw + ((1024 - (smem_addr(raw) & 1023)) & 1023);
  // A: 64 rows × 128 bytes at the start, or (PROBE_SHIFT_A) three rows into
  // a pattern past the barrier, where only generic stores can put it.
  unsigned char* sa = (flags & PROBE_SHIFT_A) ? smem + 41984 + 3 * 128 : smem;
  unsigned char* sb = smem + 8192;  // 256 rows × 128 bytes
  uint64_t* bar = (uint64_t*)(smem + 8192 + 32768);
  int t = TID_X;
  unsigned a_bytes = (flags & PROBE_GENERIC_A) ? 0 : 64 * 128;
  if (t == 0) {
    mbar_init(bar, 1);
    if (!(flags & PROBE_NO_INIT_FENCE)) fence_proxy_async();
  }
  SYNC_THREADS();
  if (t == 0) {
    mbar_arrive_expect_tx(bar, a_bytes + 256 * 128 + ((flags & PROBE_EXPECT_MORE) ? 16 : 0));
    if (a_bytes) tma_load_2d(sa, map_a, 0, 0, bar);
    tma_load_2d(sb, map_b, 0, 0, bar);
  }
  if (flags & PROBE_GENERIC_A) {
    // Byte (r, k) of a 128-byte-swizzled row lives at r·128 + ((k/16) ^ phase)·16 + k%16, the
    // phase being bits 7–9 of the row's shared address (r%8 when A starts on a pattern).
    for (int i = t; i < 64 * 128; i += 128) {
      int r = i / 128, k = i % 128, phase = (int)(((smem_addr(sa) >> 7) + r) & 7);
      sa[r * 128 + (((k / 16) ^ phase) * 16) + k % 16] = (unsigned char)a_gen[i];
    }
    if (flags & PROBE_FENCE_A) fence_proxy_async();
    SYNC_THREADS();
  }
  if (!(flags & PROBE_NO_WAIT)) mbar_wait(bar, (flags & PROBE_WRONG_PARITY) ? 1 : 0);
  int32_t acc[128];
  for (int i = 0; i < 128; i++) acc[i] = 0;
  uint64_t swz = (uint64_t)desc_swz << 62;
  if (!(flags & PROBE_NO_WGMMA_FENCE)) wgmma_fence();
  for (int k = 0; k < 4; k++) {
    uint64_t base_off = (flags & PROBE_SHIFT_A) && !(flags & PROBE_NO_BASE_OFFSET) ? (smem_addr(sa) >> 7) & 7 : 0;
    uint64_t da = ((smem_addr(sa) + 32 * k) >> 4) | (1ull << 16) | ((uint64_t)(1024 >> 4) << 32) | (base_off << 49) | swz;
    uint64_t db = ((smem_addr(sb) + 32 * k) >> 4) | (1ull << 16) | ((uint64_t)(1024 >> 4) << 32) | swz;
    wgmma_m64n256k32_s8(acc, da, db, k > 0);
  }
  wgmma_commit();
  if ((flags & PROBE_OVERWRITE) && t == 0) sb[5] ^= 0xFF;
  if (!(flags & PROBE_NO_WGMMA_WAIT)) WGMMA_WAIT(0);
  int w = t / 32, lane = LANE_ID, g = lane >> 2, q = lane & 3;
  for (int i = 0; i < 128; i++) {
    int row = 16 * w + g + 8 * ((i >> 1) & 1), col = 8 * (i >> 2) + 2 * q + (i & 1);
    D[row * 256 + col] = acc[i];
  }
  if (flags & PROBE_NO_WGMMA_WAIT) WGMMA_WAIT(0);  // retire the group before exit
}
