// The SIMT emulator: runs kernels written against kernels/simt.h on the CPU.
// One fiber (ucontext) per GPU thread; a scheduler per block releases
// barriers and warp collectives only when every participant has arrived, and
// reports anything else as divergence instead of hanging. See README.md.
#include "emu/emu.h"  // resolved with -I kernels/

#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace emu {
namespace {

enum class State { Ready, Barrier, Warp, Done };
enum class Op { None, Mma, ShflIdx, ShflXor };

constexpr size_t kStack = 64 * 1024;  // per thread; kernels keep their state in registers-sized locals
constexpr size_t kRedZone = 64;
constexpr uint8_t kRedByte = 0xCB;
constexpr uint8_t kPoison = 0xA5;

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
  // cp.async: copies of the open group, then committed groups (oldest first).
  std::vector<Copy> open;
  std::vector<std::vector<Copy>> groups;
};

struct Launch {
  const char* name;
  trampoline fn;
  const uint64_t* args;
  dim3 grid, block, bid;
  std::vector<unsigned char> smem;  // red zone | dynamic smem | red zone
  size_t smem_size = 0;
  std::vector<Thread> threads;
  std::vector<unsigned char*> stacks;  // reused by every block of the launch
  ucontext_t sched;
  std::string err;
  uint64_t rng = 0;    // warp scheduling order
  bool burst = false;  // run a warp from barrier to barrier before the next
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
  const unsigned char* p = l->smem.data();
  for (size_t i = 0; i < kRedZone; i++) {
    if (p[i] != kRedByte || p[kRedZone + l->smem_size + i] != kRedByte) return false;
  }
  return true;
}

// Fragment layouts of mma.m16n8k32 (.s8): PTX ISA, "Matrix Fragments for
// mma.m16n8k32". groupID = lane >> 2, threadID_in_group = lane % 4.
//   A (16×32, row): a_i, i = 0..15 (byte i%4 of register i/4):
//     row = g + 8·((i/4) % 2), col = 4t + (i%4) + 16·(i/8)
//   B (32×8, col):  b_i, i = 0..7 (byte i%4 of register i/4):
//     row = 4t + (i%4) + 16·(i/4), col = g
//   C, D (16×8):    c_i, i = 0..3: row = g + 8·(i/2), col = 2t + (i%2)
void run_mma(Thread* lanes) {
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

void run_collective(Thread* lanes) {
  switch (lanes[0].op) {
    case Op::Mma:
      run_mma(lanes);
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
  // Poison shared memory; arm the red zones.
  memset(l->smem.data(), kRedByte, l->smem.size());
  memset(l->smem.data() + kRedZone, kPoison, l->smem_size);
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
    if (released) continue;
    if (all_barrier) {
      if (!redzones_ok(l)) {
        fail(std::string("shared memory written out of bounds in kernel ") + l->name);
        return;
      }
      for (auto& t : l->threads) t.state = State::Ready;
      continue;
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
unsigned char* dynamic_smem() { return cur_launch->smem.data() + kRedZone; }

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
  unsigned char* lo = l->smem.data() + kRedZone;
  if (d < lo || d + 16 > lo + l->smem_size || ((uintptr_t)d & 15) || ((uintptr_t)src & 15) || src_size < 0 || src_size > 16) {
    fail("cp.async out of shared-memory bounds, misaligned or bad size: " + where(l, cur_thread));
    return;
  }
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
  l.smem.resize(smem + 2 * kRedZone);
  static uint64_t launches = 0;
  const char* seed = getenv("EMU_SEED");
  l.rng = (seed ? strtoull(seed, nullptr, 10) : 0x9e3779b97f4a7c15ull) + 0x632be59bd9b4e019ull * ++launches;
  l.burst = (l.rng >> 17) & 1;  // half the launches run warps in bursts
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
