// The SIMT emulator: runs kernels written against kernels/simt.h on the CPU.
// One fiber (ucontext) per GPU thread; a scheduler per block releases
// barriers and warp collectives only when every participant has arrived, and
// reports anything else as divergence instead of hanging. See README.md.
#include "emu/emu.h"  // resolved with -I kernels/

#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace emu {
namespace {

enum class State { Ready, Barrier, Warp, Group, MbarWait, Done };
enum class GOp { None, Mma, Wait };  // warpgroup collectives
enum class Op { None, Mma, ShflIdx, ShflXor, Ldsm };

constexpr size_t kStack = 64 * 1024;  // per thread; kernels keep their state in registers-sized locals
constexpr size_t kRedZone = 64;
constexpr uint8_t kRedByte = 0xCB;
constexpr uint8_t kPoison = 0xA5;
constexpr uint32_t kPoisonWord = 0xA5A5A5A5u;

// One thread's share of an issued wgmma: the accumulators it will receive
// when a wgmma.wait_group retires the group.
struct WgRec {
  int32_t* d;
  int n;
  uint64_t da, db, hash;  // descriptors, and a hash of the operand bytes read at issue
  std::vector<int32_t> vals;
};

// An mbarrier object (PTX ISA "Contents of the mbarrier object"): expected
// and pending arrival counts, the transaction count, the phase.
struct Mbar {
  unsigned expected = 0, pending = 0;
  long long tx = 0;
  unsigned phase = 0;
  bool visible = false;  // init made visible to the async proxy by a fence
};

// A bulk tensor copy in flight: bytes to land at shared offsets, then
// complete_tx on its mbarrier.
struct Bulk {
  uint64_t* bar;
  unsigned bytes;
  std::vector<uint32_t> offs;
  std::vector<uint8_t> data;
};

std::atomic<uint64_t> st_tma_bytes{0}, st_tma_copies{0}, st_wgmma_macs{0}, st_wgmmas{0};
std::atomic<uint64_t> st_cp_async_bytes{0}, st_mma_macs{0}, st_ldsm_matrices{0}, st_ldsm_wavefronts{0};

struct Copy {
  unsigned char* dst;
  unsigned char data[16];
};

struct Thread {
  ucontext_t ctx;
  unsigned char* stack = nullptr;  // owned by the launch's stack pool
  dim3 tid;
  unsigned linear = 0;
  State state = State::Ready;
  Op op = Op::None;
  // Collective operands and results.
  uint32_t a[4], b[2];
  int32_t c[4], d[4];
  uint32_t v = 0, out = 0;
  int arg = 0;
  const unsigned char* lp = nullptr;  // ldmatrix: this lane's row address
  uint32_t lr[4] = {0, 0, 0, 0};      // ldmatrix: results
  // cp.async: copies of the open group, then committed groups (oldest first).
  std::vector<Copy> open;
  std::vector<std::vector<Copy>> groups;
  // Warpgroup collective operands (wgmma), mbarrier wait.
  GOp gop = GOp::None;
  int32_t* g_d = nullptr;
  int g_n = 0, g_scale = 0;
  uint64_t g_da = 0, g_db = 0;
  uint64_t* wbar = nullptr;
  unsigned wparity = 0;
  uint64_t wstamp = 0;  // when it began to wait
  // wgmma: a wgmma.fence since the last wait_group; issued, then committed groups.
  bool wg_fenced = false;
  std::vector<WgRec> wg_open;
  std::vector<std::vector<WgRec>> wg_groups;
};

struct Launch {
  const char* name;
  trampoline fn;
  const uint64_t* args;
  dim3 grid, block, bid;
  std::vector<unsigned char> smem;  // red zone | dynamic smem | red zone
  size_t smem_lo = 0;               // offset of dynamic smem in smem (128-byte aligned)
  size_t smem_size = 0;
  // What the async proxy (bulk copies, wgmma) sees of shared memory: bulk
  // copies write both; fence.proxy.async copies the generic view here.
  std::vector<unsigned char> shadow;
  std::map<uint32_t, Mbar> mbars;  // by shared offset
  std::vector<Bulk> bulk;          // bulk copies in flight, oldest first
  std::vector<Thread> threads;
  std::vector<unsigned char*> stacks;  // reused by every block of the launch
  ucontext_t sched;
  std::string err;
  uint64_t rng = 0;    // warp scheduling order
  bool burst = false;  // run a warp from barrier to barrier before the next
  bool eager = false;  // bulk copies land as soon as a thread waits on their mbarrier
  // In half the launches, threads waiting on an mbarrier wake only when no
  // other thread can run, the most recent waiters first: a role that does
  // not wait for another's release (a consumer refilling a buffer its
  // readers have not read) runs ahead of them and overwrites.
  bool lazy = false;
  uint64_t stamps = 0;  // counts mbarrier waits, to order the waiters
};

thread_local Launch* cur_launch = nullptr;
thread_local Thread* cur_thread = nullptr;

void fail(const std::string& msg) {
  Launch* l = cur_launch;
  if (l->err.empty()) l->err = msg;
}

std::string where(const Launch* l, const Thread* t) {
  char buf[160];
  snprintf(buf, sizeof buf, "kernel %s, block (%u,%u,%u), thread (%u,%u,%u)", l->name, l->bid.x, l->bid.y, l->bid.z,
           t->tid.x, t->tid.y, t->tid.z);
  return buf;
}

// yield returns control to the block's scheduler.
void yield() { swapcontext(&cur_thread->ctx, &cur_launch->sched); }

void entry() {
  cur_launch->fn(cur_launch->args);
  cur_thread->state = State::Done;
  // Copies never retired by a wait are lost: a missing wait shows as a wrong result.
  swapcontext(&cur_thread->ctx, &cur_launch->sched);
}

bool redzones_ok(const Launch* l) {
  const unsigned char* p = l->smem.data() + l->smem_lo;
  for (size_t i = 0; i < kRedZone; i++) {
    if (p[-(ptrdiff_t)kRedZone + (ptrdiff_t)i] != kRedByte || p[l->smem_size + i] != kRedByte) return false;
  }
  return true;
}

unsigned char* dyn(const Launch* l) { return const_cast<unsigned char*>(l->smem.data()) + l->smem_lo; }

// shared_off maps a shared-state-space address to an offset in dynamic
// shared memory, or -1 when [addr, addr+n) is outside it.
long long shared_off(const Launch* l, uint64_t addr, size_t n) {
  if (addr < kSmemWindow || addr + n > kSmemWindow + l->smem_size) return -1;
  return (long long)(addr - kSmemWindow);
}

Mbar* find_mbar(Launch* l, const uint64_t* bar) {
  auto it = l->mbars.find((uint32_t)((const unsigned char*)bar - dyn(l)));
  return it == l->mbars.end() ? nullptr : &it->second;
}

// mbar_complete ends the phase when every arrival and transaction is in.
void mbar_complete(Mbar* m) {
  if (m->pending == 0 && m->tx == 0) {
    m->phase++;
    m->pending = m->expected;
  }
}

bool mbar_passed(Launch* l, const Thread& t) {
  Mbar* m = find_mbar(l, t.wbar);
  return m && (m->phase & 1) != t.wparity;
}

// land_bulk lands bulk copy i in flight (0: the oldest) and completes its
// transactions on its mbarrier.
void land_bulk(Launch* l, size_t i = 0) {
  Bulk b = std::move(l->bulk[i]);
  l->bulk.erase(l->bulk.begin() + i);
  unsigned char* s = dyn(l);
  for (size_t i = 0; i < b.offs.size(); i++) s[b.offs[i]] = l->shadow[b.offs[i]] = b.data[i];
  Mbar* m = find_mbar(l, b.bar);
  if (!m) {
    fail(std::string("bulk copy completes on an uninitialised mbarrier in kernel ") + l->name);
    return;
  }
  if (!m->visible) {
    fail(std::string("bulk copy completes on an mbarrier whose init was not fenced to the async proxy "
                     "(fence.proxy.async missing) in kernel ") + l->name);
    return;
  }
  m->tx -= b.bytes;
  mbar_complete(m);
}

// decode_kmajor reads a K-major rows×32-byte operand through a wgmma matrix
// descriptor (PTX ISA "Matrix Descriptor Format": start address bits 0–13,
// leading byte offset 16–29, stride byte offset 32–45, base offset 49–51,
// swizzle 62–63, addresses and offsets >> 4). Canonical K-major layouts:
// 8-row core matrices SBO apart; without swizzle a core matrix is 8 rows of
// 16 bytes, the next 16 bytes of K LBO away; with a 32/64/128-byte swizzle
// a row is 32/64/128 bytes and address bits 4.. are XORed with bits 7..
// (CUTLASS Swizzle<1|2|3,4,3>), as the bulk copies write them. poison is set
// when a byte differs between the generic and the async-proxy views.
bool decode_kmajor(Launch* l, uint64_t desc, int rows, int8_t* out, bool* poison) {
  uint64_t start = (desc & 0x3FFF) << 4, lbo = ((desc >> 16) & 0x3FFF) << 4, sbo = ((desc >> 32) & 0x3FFF) << 4;
  unsigned base_off = (desc >> 49) & 7, swz = (unsigned)(desc >> 62);
  const unsigned char* s = dyn(l);
  for (int r = 0; r < rows; r++)
    for (int kb = 0; kb < 32; kb++) {
      uint64_t a;
      if (swz == 0) {
        a = start + (r / 8) * sbo + (kb / 16) * lbo + (r % 8) * 16 + kb % 16;
      } else {
        // The XOR pattern's phase counts 128-byte rows from the start
        // address, plus the base offset: it equals the address bits 7..
        // only when the operand starts on a pattern boundary or the base
        // offset says where it starts (PTX ISA, "Matrix Descriptor Format").
        unsigned pitch = swz == 1 ? 128 : swz == 2 ? 64 : 32, bits = swz == 1 ? 7 : swz == 2 ? 3 : 1;
        a = start + (r / 8) * sbo + (r % 8) * pitch + kb;
        a ^= ((((a >> 7) - (start >> 7)) + base_off) & bits) << 4;
      }
      long long off = shared_off(l, a, 1);
      if (off < 0) {
        fail(std::string("wgmma operand outside shared memory in kernel ") + l->name);
        return false;
      }
      out[r * 32 + kb] = (int8_t)s[off];
      if (s[off] != l->shadow[off]) *poison = true;
    }
  return true;
}

uint64_t fnv(const int8_t* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
  return h;
}

bool operand_hash(Launch* l, uint64_t da, uint64_t db, int n, uint64_t* h, bool* poison, int8_t* A, int8_t* B) {
  if (!decode_kmajor(l, da, 64, A, poison) || !decode_kmajor(l, db, n, B, poison)) return false;
  *h = fnv(B, (size_t)n * 32, fnv(A, 64 * 32, 0xcbf29ce484222325ull));
  return true;
}

// run_wgmma: wgmma.mma_async m64nNk32 .s32.s8.s8 for one warpgroup. The
// accumulator layout (PTX ISA "Register Fragments: wgmma .m64nNk32", D):
// warp w of the group holds rows 16w..16w+15; its lane (g = lane>>2,
// q = lane%4) holds d[i] at row 16w + g + 8·((i>>1)&1), column
// 8·(i>>2) + 2q + (i&1).
void run_wgmma(Launch* l, Thread* T) {
  int n = T[0].g_n;
  if (n < 8 || n > 256 || n % 8 != 0) {
    fail("wgmma with an invalid N: " + where(l, &T[0]));
    return;
  }
  for (int i = 0; i < 128; i++)
    if (!T[i].wg_fenced) {
      fail("wgmma.mma_async without a wgmma.fence since the last wgmma.wait_group: " + where(l, &T[i]));
      return;
    }
  static thread_local int8_t A[64 * 32], B[256 * 32];
  bool poison = false;
  uint64_t h;
  if (!operand_hash(l, T[0].g_da, T[0].g_db, n, &h, &poison, A, B)) return;
  st_wgmma_macs += 64ull * n * 32;
  st_wgmmas++;
  for (int t = 0; t < 128; t++) {
    Thread& th = T[t];
    const WgRec* prev = nullptr;
    for (auto it = th.wg_open.rbegin(); it != th.wg_open.rend() && !prev; ++it)
      if (it->d == th.g_d) prev = &*it;
    for (auto g = th.wg_groups.rbegin(); g != th.wg_groups.rend() && !prev; ++g)
      for (auto it = g->rbegin(); it != g->rend() && !prev; ++it)
        if (it->d == th.g_d) prev = &*it;
    if (prev && prev->n != n) {
      fail("wgmma chained on one accumulator with different shapes: " + where(l, &th));
      return;
    }
    WgRec r{th.g_d, n, th.g_da, th.g_db, h, std::vector<int32_t>(n / 2)};
    int w = t / 32, lane = t % 32, g = lane >> 2, q = lane & 3;
    for (int i = 0; i < n / 2; i++) {
      int row = 16 * w + g + 8 * ((i >> 1) & 1), col = 8 * (i >> 2) + 2 * q + (i & 1);
      uint32_t acc = th.g_scale ? (uint32_t)(prev ? prev->vals[i] : th.g_d[i]) : 0;
      for (int k = 0; k < 32; k++) acc += (uint32_t)((int32_t)A[row * 32 + k] * (int32_t)B[col * 32 + k]);
      r.vals[i] = poison ? (int32_t)kPoisonWord : (int32_t)acc;
    }
    for (int i = 0; i < n / 2; i++) th.g_d[i] = (int32_t)kPoisonWord;  // until wait_group
    th.wg_open.push_back(std::move(r));
  }
}

// run_wgwait: wgmma.wait_group n for one warpgroup: every group but the n
// newest lands in its accumulators, after checking that its operands in
// shared memory did not change since issue (a stage refilled too early).
void run_wgwait(Launch* l, Thread* T) {
  int pending = T[0].g_n;
  static thread_local int8_t A[64 * 32], B[256 * 32];
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, uint64_t>> seen;  // (da, db) -> hash now
  for (int t = 0; t < 128; t++) {
    auto& G = T[t].wg_groups;
    while ((int)G.size() > pending) {
      for (auto& r : G.front()) {
        uint64_t now = 0;
        bool found = false;
        for (auto& s : seen)
          if (s.first.first == r.da && s.first.second == r.db) {
            now = s.second;
            found = true;
          }
        if (!found) {
          bool poison = false;
          if (!operand_hash(l, r.da, r.db, r.n, &now, &poison, A, B)) return;
          seen.push_back({{r.da, r.db}, now});
        }
        if (now != r.hash) {
          fail("wgmma operands in shared memory changed before wgmma.wait_group retired them: " + where(l, &T[t]));
          return;
        }
        memcpy(r.d, r.vals.data(), r.vals.size() * sizeof(int32_t));
      }
      G.erase(G.begin());
    }
    T[t].wg_fenced = false;
  }
}

// group_ready: the 128 threads of warpgroup g all wait on the same collective.
bool group_ready(Launch* l, unsigned g) {
  unsigned n = (unsigned)l->threads.size();
  if (g * 128 + 128 > n) return false;
  Thread* T = &l->threads[g * 128];
  for (int i = 0; i < 128; i++) {
    const Thread& t = T[i];
    if (t.state != State::Group || t.gop != T[0].gop || t.g_n != T[0].g_n) return false;
    if (t.gop == GOp::Mma && (t.g_da != T[0].g_da || t.g_db != T[0].g_db || t.g_scale != T[0].g_scale)) return false;
  }
  return true;
}

void run_group(Launch* l, unsigned g) {
  Thread* T = &l->threads[g * 128];
  if (T[0].gop == GOp::Mma) run_wgmma(l, T);
  else run_wgwait(l, T);
  for (int i = 0; i < 128; i++) {
    T[i].state = State::Ready;
    T[i].gop = GOp::None;
  }
}

// Fragment layouts of mma.m16n8k32 (.s8): PTX ISA, "Matrix Fragments for
// mma.m16n8k32". groupID = lane >> 2, threadID_in_group = lane % 4.
//   A (16×32, row): a_i, i = 0..15 (byte i%4 of register i/4):
//     row = g + 8·((i/4) % 2), col = 4t + (i%4) + 16·(i/8)
//   B (32×8, col):  b_i, i = 0..7 (byte i%4 of register i/4):
//     row = 4t + (i%4) + 16·(i/4), col = g
//   C, D (16×8):    c_i, i = 0..3: row = g + 8·(i/2), col = 2t + (i%2)
void run_mma(Thread* lanes) {
  st_mma_macs += 16 * 8 * 32;
  int8_t A[16][32], B[32][8];
  int32_t C[16][8];
  for (int lane = 0; lane < 32; lane++) {
    const Thread& t = lanes[lane];
    int g = lane >> 2, q = lane & 3;
    for (int i = 0; i < 16; i++) {
      int row = g + 8 * ((i / 4) % 2), col = 4 * q + (i % 4) + 16 * (i / 8);
      A[row][col] = (int8_t)(t.a[i / 4] >> (8 * (i % 4)));
    }
    for (int i = 0; i < 8; i++) {
      int row = 4 * q + (i % 4) + 16 * (i / 4), col = g;
      B[row][col] = (int8_t)(t.b[i / 4] >> (8 * (i % 4)));
    }
    for (int i = 0; i < 4; i++) C[g + 8 * (i / 2)][2 * q + (i % 2)] = t.c[i];
  }
  for (int lane = 0; lane < 32; lane++) {
    Thread& t = lanes[lane];
    int g = lane >> 2, q = lane & 3;
    for (int i = 0; i < 4; i++) {
      int row = g + 8 * (i / 2), col = 2 * q + (i % 2);
      uint32_t acc = (uint32_t)C[row][col];  // wraps like the hardware's s32 sum
      for (int k = 0; k < 32; k++) acc += (uint32_t)((int32_t)A[row][k] * (int32_t)B[k][col]);
      t.d[i] = (int32_t)acc;
    }
  }
}

// run_ldsm: ldmatrix .m8n8.xN.b16 (PTX ISA, "ldmatrix"). Row j of matrix
// i is at the address lane 8i+j gave; lane l gets, of each matrix i, the
// word at byte 4·(l%4) of row l/4. Every lane must ask for the same N.
void run_ldsm(Thread* lanes) {
  Launch* l = cur_launch;
  int num = lanes[0].arg;
  for (int i = 0; i < 32; i++) {
    if (lanes[i].arg != num) {
      fail("divergent warp collective: ldmatrix with different .num: " + where(l, &lanes[i]));
      return;
    }
  }
  if (num != 1 && num != 2 && num != 4) {
    fail("ldmatrix with a bad .num: " + where(l, &lanes[0]));
    return;
  }
  const unsigned char* lo = dyn(l);
  for (int i = 0; i < 8 * num; i++) {
    const unsigned char* p = lanes[i].lp;
    if (p < lo || p + 16 > lo + l->smem_size || ((uintptr_t)p & 15)) {
      fail("ldmatrix row address misaligned or outside shared memory: " + where(l, &lanes[i]));
      return;
    }
  }
  for (int ln = 0; ln < 32; ln++)
    for (int i = 0; i < num; i++) memcpy(&lanes[ln].lr[i], lanes[8 * i + ln / 4].lp + 4 * (ln % 4), 4);
  // Wavefronts: a matrix is one phase of 8 rows × 4 words; bank b serves
  // one distinct word a wavefront (dynamic smem starts 128-byte aligned, so
  // the offset's banks are the address's).
  for (int i = 0; i < num; i++) {
    uint32_t words[32];
    for (int j = 0; j < 8; j++)
      for (int w = 0; w < 4; w++) words[4 * j + w] = (uint32_t)(lanes[8 * i + j].lp - lo) / 4 + w;
    int worst = 0;
    for (int b = 0; b < 32; b++) {
      int n = 0;
      for (int x = 0; x < 32; x++) {
        if (words[x] % 32 != (uint32_t)b) continue;
        bool seen = false;
        for (int y = 0; y < x; y++) seen |= words[y] == words[x];
        n += !seen;
      }
      worst = std::max(worst, n);
    }
    st_ldsm_wavefronts += worst;
  }
  st_ldsm_matrices += num;
}

void run_collective(Thread* lanes) {
  switch (lanes[0].op) {
    case Op::Mma:
      run_mma(lanes);
      break;
    case Op::Ldsm:
      run_ldsm(lanes);
      break;
    case Op::ShflIdx:
      for (int i = 0; i < 32; i++) lanes[i].out = lanes[lanes[i].arg & 31].v;
      break;
    case Op::ShflXor:
      for (int i = 0; i < 32; i++) lanes[i].out = lanes[(i ^ lanes[i].arg) & 31].v;
      break;
    case Op::None:
      break;
  }
  for (int i = 0; i < 32; i++) {
    lanes[i].state = State::Ready;
    lanes[i].op = Op::None;
  }
}

const char* op_name(Op op) {
  switch (op) {
    case Op::Mma: return "mma.sync";
    case Op::ShflIdx: return "shfl.sync.idx";
    case Op::ShflXor: return "shfl.sync.bfly";
    case Op::Ldsm: return "ldmatrix";
    default: return "?";
  }
}

// run_block runs every thread of one block to completion.
void run_block(Launch* l) {
  unsigned nthreads = l->block.x * l->block.y * l->block.z;
  l->threads.assign(nthreads, Thread{});
  while (l->stacks.size() < nthreads) l->stacks.push_back(static_cast<unsigned char*>(malloc(kStack)));
  for (unsigned i = 0; i < nthreads; i++) {
    Thread& t = l->threads[i];
    t.linear = i;
    t.tid = {i % l->block.x, (i / l->block.x) % l->block.y, i / (l->block.x * l->block.y)};
    t.stack = l->stacks[i];
    getcontext(&t.ctx);
    t.ctx.uc_stack.ss_sp = t.stack;
    t.ctx.uc_stack.ss_size = kStack;
    t.ctx.uc_link = nullptr;
    makecontext(&t.ctx, entry, 0);
  }
  // Poison shared memory (both proxies' views); arm the red zones.
  memset(l->smem.data(), kRedByte, l->smem.size());
  memset(dyn(l), kPoison, l->smem_size);
  l->shadow.assign(l->smem_size, kPoison);
  l->mbars.clear();
  l->bulk.clear();
  l->stamps = 0;
  unsigned nwarps = (nthreads + 31) / 32;
  for (;;) {
    // Warps advance independently, in an order drawn from the launch's seed:
    // pick a warp with runnable lanes, run them until they block, release its
    // collective if complete, repeat. One warp can run far ahead of another
    // between barriers, as on hardware, so a missing barrier shows up.
    for (;;) {
      std::vector<unsigned> runnable;
      for (unsigned w = 0; w < nwarps; w++) {
        for (unsigned i = w * 32; i < std::min(nthreads, w * 32 + 32); i++) {
          Thread& t = l->threads[i];
          if (t.state == State::MbarWait && !l->lazy && mbar_passed(l, t)) t.state = State::Ready;
        }
        for (unsigned i = w * 32; i < std::min(nthreads, w * 32 + 32); i++) {
          if (l->threads[i].state == State::Ready) {
            runnable.push_back(w);
            break;
          }
        }
      }
      if (runnable.empty()) break;
      l->rng = l->rng * 6364136223846793005ull + 1442695040888963407ull;
      unsigned w = runnable[(l->rng >> 33) % runnable.size()];
      for (unsigned i = w * 32; i < std::min(nthreads, w * 32 + 32); i++) {
        Thread& t = l->threads[i];
        if (t.state != State::Ready) continue;
        cur_thread = &t;
        swapcontext(&l->sched, &t.ctx);
        cur_thread = nullptr;
        if (!l->err.empty()) return;
      }
      for (;;) {  // burst mode: keep running warp w until it blocks on something it cannot release itself
        if (w * 32 + 32 <= nthreads) {
          Thread* lanes = &l->threads[w * 32];
          bool ready = true;
          for (int i = 0; i < 32; i++) ready &= lanes[i].state == State::Warp && lanes[i].op == lanes[0].op;
          if (ready) run_collective(lanes);
        }
        if (group_ready(l, w / 4)) {
          run_group(l, w / 4);
          if (!l->err.empty()) return;
        }
        if (!l->burst) break;
        bool again = false;
        for (unsigned i = w * 32; i < std::min(nthreads, w * 32 + 32); i++) {
          Thread& t = l->threads[i];
          if (t.state != State::Ready) continue;
          again = true;
          cur_thread = &t;
          swapcontext(&l->sched, &t.ctx);
          cur_thread = nullptr;
          if (!l->err.empty()) return;
        }
        if (!again) break;
      }
    }
    bool released = false, all_done = true, any_done = false, all_barrier = true;
    for (auto& t : l->threads) {
      all_done &= t.state == State::Done;
      any_done |= t.state == State::Done;
      all_barrier &= t.state == State::Barrier;
    }
    if (all_done) break;
    // Warp collectives: a warp whose 32 lanes all wait on the same operation.
    for (unsigned w = 0; w * 32 < nthreads; w++) {
      Thread* lanes = &l->threads[w * 32];
      if (w * 32 + 32 > nthreads) break;
      bool ready = true;
      for (int i = 0; i < 32; i++) ready &= lanes[i].state == State::Warp && lanes[i].op == lanes[0].op;
      if (ready) {
        run_collective(lanes);
        released = true;
      }
    }
    for (unsigned g = 0; g * 128 < nthreads; g++) {
      if (group_ready(l, g)) {
        run_group(l, g);
        if (!l->err.empty()) return;
        released = true;
      }
    }
    if (released) continue;
    if (all_barrier) {
      if (!redzones_ok(l)) {
        fail(std::string("shared memory written out of bounds in kernel ") + l->name);
        return;
      }
      for (auto& t : l->threads) t.state = State::Ready;
      continue;
    }
    // Bulk copies land as late as possible: only when no thread can run
    // without one, so that a read that does not wait for its mbarrier sees
    // the poison.
    if (!l->bulk.empty()) {
      land_bulk(l);
      if (!l->err.empty()) return;
      continue;
    }
    if (l->lazy) {  // wake the latest waiter whose phase has come, and those waiting on its barrier with it
      Thread* last = nullptr;
      for (auto& t : l->threads)
        if (t.state == State::MbarWait && mbar_passed(l, t) && (!last || t.wstamp > last->wstamp)) last = &t;
      if (last) {
        uint64_t* bar = last->wbar;
        for (auto& t : l->threads)
          if (t.state == State::MbarWait && t.wbar == bar && mbar_passed(l, t)) t.state = State::Ready;
        continue;
      }
    }
    // Nothing can proceed: divergence. Name the first thread stuck, and why.
    for (auto& t : l->threads) {
      if (t.state == State::Barrier && any_done) {
        fail("divergent barrier: " + where(l, &t) + " waits at __syncthreads while other threads have exited");
        return;
      }
    }
    for (auto& t : l->threads) {
      if (t.state == State::Warp) {
        fail(std::string("divergent warp collective: ") + where(l, &t) + " waits at " + op_name(t.op) +
             " but not every lane of its warp reached the same instruction");
        return;
      }
      if (t.state == State::Barrier) {
        fail("divergent barrier: " + where(l, &t) + " waits at __syncthreads while others wait elsewhere");
        return;
      }
      if (t.state == State::Group) {
        fail(std::string("divergent warpgroup collective: ") + where(l, &t) + " waits at " +
             (t.gop == GOp::Mma ? "wgmma.mma_async" : "wgmma.wait_group") +
             " but not every thread of its warpgroup reached the same instruction with the same operands");
        return;
      }
      if (t.state == State::MbarWait) {
        char buf[96];
        snprintf(buf, sizeof buf, " waits for phase parity %u of the mbarrier at shared offset %ld, which never completes",
                 t.wparity, (long)((unsigned char*)t.wbar - dyn(l)));
        fail("deadlock: " + where(l, &t) + buf);
        return;
      }
    }
    fail("emulator: no thread can make progress");
    return;
  }
  if (!redzones_ok(l)) fail(std::string("shared memory written out of bounds in kernel ") + l->name);
}

}  // namespace

const dim3& thread_idx() { return cur_thread->tid; }
const dim3& block_idx() { return cur_launch->bid; }
const dim3& block_dim() { return cur_launch->block; }
const dim3& grid_dim() { return cur_launch->grid; }
unsigned lane_id() { return cur_thread->linear & 31; }
unsigned char* dynamic_smem() { return dyn(cur_launch); }

void barrier() {
  cur_thread->state = State::Barrier;
  yield();
}

static void collective(Op op) {
  cur_thread->state = State::Warp;
  cur_thread->op = op;
  yield();
}

void mma_s8_16832(int32_t d[4], const uint32_t a[4], const uint32_t b[2], const int32_t c[4]) {
  Thread* t = cur_thread;
  memcpy(t->a, a, sizeof t->a);
  memcpy(t->b, b, sizeof t->b);
  memcpy(t->c, c, sizeof t->c);
  collective(Op::Mma);
  memcpy(d, t->d, sizeof t->d);
}

uint32_t shfl_idx(uint32_t v, int src) {
  cur_thread->v = v;
  cur_thread->arg = src;
  collective(Op::ShflIdx);
  return cur_thread->out;
}

uint32_t shfl_xor(uint32_t v, int m) {
  cur_thread->v = v;
  cur_thread->arg = m;
  collective(Op::ShflXor);
  return cur_thread->out;
}

void ldmatrix(uint32_t* r, int num, const void* row_addr) {
  cur_thread->lp = (const unsigned char*)row_addr;
  cur_thread->arg = num;
  collective(Op::Ldsm);
  for (int i = 0; i < num && i < 4; i++) r[i] = cur_thread->lr[i];
}

void st_global_v2(int32_t* dst, int32_t a, int32_t b) {
  if ((uintptr_t)dst & 7) {
    fail("misaligned st.global.v2: " + where(cur_launch, cur_thread));
    return;
  }
  const int32_t v[2] = {a, b};
  memcpy(dst, v, 8);
}

void st_shared_v2(uint32_t* dst, int32_t a, int32_t b) {
  if (((uintptr_t)dst & 7) || shared_off(cur_launch, smem_addr(dst), 8) < 0) {
    fail("misaligned or out-of-bounds st.shared.v2: " + where(cur_launch, cur_thread));
    return;
  }
  const int32_t v[2] = {a, b};
  memcpy(dst, v, 8);
}

void ld_global_v4(const void* src, uint32_t w[4]) {
  if ((uintptr_t)src & 15) {
    fail("misaligned ld.global.v4: " + where(cur_launch, cur_thread));
    memset(w, 0, 16);
    return;
  }
  memcpy(w, src, 16);
}

void cp_async16(void* dst, const void* src, int src_size) {
  Launch* l = cur_launch;
  unsigned char* d = (unsigned char*)dst;
  unsigned char* lo = dyn(l);
  if (d < lo || d + 16 > lo + l->smem_size || ((uintptr_t)d & 15) || ((uintptr_t)src & 15) || src_size < 0 || src_size > 16) {
    fail("cp.async out of shared-memory bounds, misaligned or bad size: " + where(l, cur_thread));
    return;
  }
  st_cp_async_bytes += 16;
  Copy c;
  c.dst = d;
  memset(c.data, 0, 16);
  if (src_size > 0) memcpy(c.data, src, src_size);
  memset(d, kPoison, 16);  // until the copy lands
  cur_thread->open.push_back(c);
}

void cp_async_commit() {
  cur_thread->groups.push_back(std::move(cur_thread->open));
  cur_thread->open.clear();
}

void cp_async_wait(int pending) {
  auto& g = cur_thread->groups;
  while ((int)g.size() > pending) {
    for (auto& c : g.front()) memcpy(c.dst, c.data, 16);
    g.erase(g.begin());
  }
}

uint32_t smem_addr(const void* p) {
  return kSmemWindow + (uint32_t)((const unsigned char*)p - dyn(cur_launch));
}

// check_bar names the thread when bar is not 8-byte aligned inside shared memory.
static bool check_bar(const uint64_t* bar, const char* what) {
  Launch* l = cur_launch;
  if (((uintptr_t)bar & 7) || shared_off(l, smem_addr(bar), 8) < 0) {
    fail(std::string(what) + " on an address that is not an aligned mbarrier in shared memory: " + where(l, cur_thread));
    return false;
  }
  return true;
}

static Mbar* live_mbar(uint64_t* bar, const char* what) {
  if (!check_bar(bar, what)) return nullptr;
  Mbar* m = find_mbar(cur_launch, bar);
  if (!m) fail(std::string(what) + " on an mbarrier never initialised: " + where(cur_launch, cur_thread));
  return m;
}

void mbar_init(uint64_t* bar, unsigned count) {
  Launch* l = cur_launch;
  if (!check_bar(bar, "mbarrier.init")) return;
  if (count == 0 || count > (1u << 20) - 1) {
    fail("mbarrier.init with a bad count: " + where(l, cur_thread));
    return;
  }
  Mbar m;
  m.expected = m.pending = count;
  l->mbars[(uint32_t)((unsigned char*)bar - dyn(l))] = m;
  *bar = 0;  // a generic write: the async proxy sees it only after a fence
}

static void arrive(Mbar* m) {
  if (m->pending == 0) {
    fail("mbarrier arrive beyond its expected count: " + where(cur_launch, cur_thread));
    return;
  }
  m->pending--;
  mbar_complete(m);
}

void mbar_arrive(uint64_t* bar) {
  if (Mbar* m = live_mbar(bar, "mbarrier.arrive")) arrive(m);
}

void mbar_arrive_expect_tx(uint64_t* bar, unsigned bytes) {
  if (Mbar* m = live_mbar(bar, "mbarrier.arrive.expect_tx")) {
    m->tx += bytes;
    arrive(m);
  }
}

void mbar_wait(uint64_t* bar, unsigned parity) {
  Mbar* m = live_mbar(bar, "mbarrier.try_wait.parity");
  if (!m) return;
  cur_thread->wbar = bar;
  cur_thread->wparity = parity & 1;
  if ((m->phase & 1) != (parity & 1)) return;
  if (cur_launch->eager) {  // the copies this barrier waits for land now, so that waiters run ahead
    Launch* l = cur_launch;
    for (size_t i = 0; i < l->bulk.size();) {
      if (l->bulk[i].bar == bar) {
        land_bulk(l, i);
        if (!l->err.empty()) return;
      } else {
        i++;
      }
    }
    if ((m->phase & 1) != (parity & 1)) return;
  }
  cur_thread->wstamp = ++cur_launch->stamps;
  cur_thread->state = State::MbarWait;
  yield();
}

void fence_proxy_async() {
  Launch* l = cur_launch;
  memcpy(l->shadow.data(), dyn(l), l->smem_size);
  for (auto& kv : l->mbars) kv.second.visible = true;
}

void tma_load_2d(void* dst, const void* map, int c0, int c1, uint64_t* bar) {
  Launch* l = cur_launch;
  const TensorMap2D* tm = (const TensorMap2D*)map;
  if (((uintptr_t)map & 63) || tm->magic != kTensorMapMagic) {
    fail("cp.async.bulk.tensor with something that is not a tensor map: " + where(l, cur_thread));
    return;
  }
  if (!check_bar(bar, "cp.async.bulk.tensor")) return;
  unsigned swz = tm->swizzle, b0 = tm->box[0], b1 = tm->box[1];
  uint32_t d = smem_addr(dst);
  size_t bytes = (size_t)b0 * b1;
  bool box_ok = b0 > 0 && b1 > 0 && b0 <= 256 && b1 <= 256 && b0 % 16 == 0 && (swz == 0 || b0 == 16u << swz);
  if (!box_ok || swz > 3 || (d & 127) || shared_off(l, d, bytes) < 0) {
    fail("cp.async.bulk.tensor: bad box, swizzle or destination (misaligned or outside shared memory): " +
         where(l, cur_thread));
    return;
  }
  // A swizzled box starts on its pattern's boundary: 8 rows of the span
  // (1024 bytes for 128B), as CUTLASS and the CUDA guide align them.
  if (swz && (d & ((128u << swz) - 1))) {
    fail("cp.async.bulk.tensor: swizzled destination not aligned to its swizzle pattern (1024 bytes for 128B): " +
         where(l, cur_thread));
    return;
  }
  Bulk b;
  b.bar = bar;
  b.bytes = (unsigned)bytes;
  b.offs.reserve(bytes);
  b.data.reserve(bytes);
  const uint8_t* g = (const uint8_t*)tm->base;
  unsigned char* s = dyn(l);
  for (unsigned r = 0; r < b1; r++)
    for (unsigned x = 0; x < b0; x++) {
      long long gx = (long long)c0 + x, gy = (long long)c1 + r;
      bool in = gx >= 0 && gy >= 0 && (uint64_t)gx < tm->dims[0] && (uint64_t)gy < tm->dims[1];
      uint64_t a = d + (uint64_t)r * b0 + x;
      if (swz) a ^= ((a >> 7) & ((1u << swz) - 1)) << 4;
      uint32_t off = (uint32_t)(a - kSmemWindow);
      b.offs.push_back(off);
      b.data.push_back(in ? g[gy * tm->stride + gx] : 0);
      s[off] = l->shadow[off] = kPoison;  // undefined until the copy lands
    }
  l->bulk.push_back(std::move(b));
  st_tma_bytes += bytes;
  st_tma_copies++;
}

void wgmma_fence() { cur_thread->wg_fenced = true; }

void wgmma_commit() {
  cur_thread->wg_groups.push_back(std::move(cur_thread->wg_open));
  cur_thread->wg_open.clear();
}

static void group_collective(GOp op) {
  if (cur_launch->block.x * cur_launch->block.y * cur_launch->block.z % 128 != 0) {
    fail("wgmma in a block that is not whole warpgroups: " + where(cur_launch, cur_thread));
    return;
  }
  cur_thread->state = State::Group;
  cur_thread->gop = op;
  yield();
}

void wgmma_wait(int pending) {
  cur_thread->g_n = pending;
  group_collective(GOp::Wait);
}

void wgmma_s8(int32_t* d, int n, uint64_t desc_a, uint64_t desc_b, int scale_d) {
  Thread* t = cur_thread;
  t->g_d = d;
  t->g_n = n;
  t->g_da = desc_a;
  t->g_db = desc_b;
  t->g_scale = scale_d != 0;
  group_collective(GOp::Mma);
}

Stats stats() {
  return Stats{st_tma_bytes.load(),      st_tma_copies.load(), st_wgmma_macs.load(),    st_wgmmas.load(),
               st_cp_async_bytes.load(), st_mma_macs.load(),   st_ldsm_matrices.load(), st_ldsm_wavefronts.load()};
}

const char* launch(const char* name, trampoline fn, dim3 grid, dim3 block, size_t smem, const uint64_t* args) {
  static thread_local std::string err;
  unsigned n = block.x * block.y * block.z;
  if (n == 0 || n > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || smem > 227 * 1024) {
    err = std::string("bad launch configuration for kernel ") + name;
    return err.c_str();
  }
  Launch l;
  l.name = name;
  l.fn = fn;
  l.args = args;
  l.grid = grid;
  l.block = block;
  l.smem_size = smem;
  l.smem.resize(smem + 2 * kRedZone + 128);
  l.smem_lo = kRedZone + ((128 - ((uintptr_t)(l.smem.data() + kRedZone) & 127)) & 127);
  static uint64_t launches = 0;
  const char* seed = getenv("EMU_SEED");
  l.rng = (seed ? strtoull(seed, nullptr, 10) : 0x9e3779b97f4a7c15ull) + 0x632be59bd9b4e019ull * ++launches;
  l.burst = (l.rng >> 17) & 1;  // half the launches run warps in bursts
  l.eager = (l.rng >> 29) & 1;  // half land bulk copies at the first wait on their barrier
  l.lazy = (l.rng >> 37) & 1;   // half wake mbarrier waiters only when nothing else can run
  cur_launch = &l;
  for (unsigned z = 0; z < grid.z && l.err.empty(); z++)
    for (unsigned y = 0; y < grid.y && l.err.empty(); y++)
      for (unsigned x = 0; x < grid.x && l.err.empty(); x++) {
        l.bid = {x, y, z};
        run_block(&l);
      }
  cur_launch = nullptr;
  for (unsigned char* st : l.stacks) free(st);
  if (l.err.empty()) return nullptr;
  err = l.err;
  return err.c_str();
}

}  // namespace emu
