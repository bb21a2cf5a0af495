// The emulated build of kernels/: the emulator and every kernel, compiled by
// the host C++ compiler through cgo, and a table of launch trampolines.
// The k_*.h files are symbolic links to the sources in kernels/: the Go build
// cache hashes the headers of a cgo package's own directory, so a change to a
// kernel rebuilds this package (TestKernelLinks keeps the links complete).
#include "k_emu.cc.h"
#include "k_gemm_s8.cu.h"
#include "k_gemm_sm90.cu.h"
// k_hash_rows.cu.h comes in through k_gemm_sm90.cu.h (its epilogue shares the BLAKE3 code).
#include "k_rows.cu.h"
#include "k_selftest.cu.h"
#include "k_selftest_sm90.cu.h"

#include <cstring>

#include "kernels.h"

namespace {

template <typename T>
T arg(uint64_t v) {
  if constexpr (std::is_pointer<T>::value) {
    return reinterpret_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

void t_pack_s8(const uint64_t* a) {
  pack_s8(arg<const int8_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<long long>(a[3]),
          arg<int8_t*>(a[4]), arg<long long>(a[5]), arg<long long>(a[6]));
}
void t_gemm_s8_tc(const uint64_t* a) {
  gemm_s8_tc(arg<const int8_t*>(a[0]), arg<const int8_t*>(a[1]), arg<int32_t*>(a[2]), arg<long long>(a[3]),
             arg<long long>(a[4]), arg<long long>(a[5]), arg<long long>(a[6]));
}
void t_gemm_s8_sm90(const uint64_t* a) {
  gemm_s8_sm90(arg<const void*>(a[0]), arg<const void*>(a[1]), arg<int32_t*>(a[2]), arg<long long>(a[3]),
               arg<long long>(a[4]), arg<long long>(a[5]), arg<long long>(a[6]));
}
void t_gemm_s8_sm90_cv(const uint64_t* a) {
  gemm_s8_sm90_cv(arg<const void*>(a[0]), arg<const void*>(a[1]), arg<int32_t*>(a[2]), arg<long long>(a[3]),
                  arg<long long>(a[4]), arg<long long>(a[5]), arg<long long>(a[6]), a[7], a[8], a[9], a[10],
                  arg<uint32_t*>(a[11]));
}
void t_project_i32(const uint64_t* a) {
  project_i32(arg<const int32_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<const uint64_t*>(a[3]),
              arg<uint64_t*>(a[4]));
}

void t_project_i8(const uint64_t* a) {
  project_i8(arg<const int8_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<const uint64_t*>(a[3]),
             arg<uint64_t*>(a[4]));
}
void t_project_cols_i8(const uint64_t* a) {
  project_cols_i8(arg<const int8_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<const uint64_t*>(a[3]),
                  arg<uint64_t*>(a[4]));
}
void t_blake3_chunks(const uint64_t* a) {
  blake3_chunks(arg<const unsigned char*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), a[3], a[4], a[5], a[6],
                arg<uint32_t*>(a[7]));
}
void t_blake3_parents(const uint64_t* a) {
  blake3_parents(arg<const uint32_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), a[3], a[4], a[5], a[6],
                 arg<uint32_t*>(a[7]));
}
void t_gemm_s8_tc_update(const uint64_t* a) {
  gemm_s8_tc_update(arg<const int8_t*>(a[0]), arg<const int8_t*>(a[1]), arg<int32_t*>(a[2]), arg<long long>(a[3]),
                    arg<long long>(a[4]), arg<long long>(a[5]), arg<const int32_t*>(a[6]), arg<long long>(a[7]),
                    arg<long long>(a[8]), arg<long long>(a[9]), arg<int32_t*>(a[10]));
}
void t_fill_u8(const uint64_t* a) { fill_u8(arg<unsigned char*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2])); }
void t_view_rows(const uint64_t* a) {
  view_rows(arg<const int32_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<int8_t*>(a[3]));
}
void t_act_rows(const uint64_t* a) {
  act_rows(arg<const int32_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<int8_t*>(a[3]));
}
void t_loss_grad_rows(const uint64_t* a) {
  loss_grad_rows(arg<const int32_t*>(a[0]), arg<long long>(a[1]), arg<long long>(a[2]), arg<const uint8_t*>(a[3]),
                 arg<long long>(a[4]), arg<int8_t*>(a[5]));
}
void t_back_act_rows(const uint64_t* a) {
  back_act_rows(arg<const int32_t*>(a[0]), arg<const int32_t*>(a[1]), arg<long long>(a[2]), arg<long long>(a[3]),
                arg<long long>(a[4]), arg<int8_t*>(a[5]));
}
void t_gather_rows(const uint64_t* a) {
  gather_rows(arg<const unsigned char*>(a[0]), arg<long long>(a[1]), arg<const long long*>(a[2]), arg<long long>(a[3]),
              arg<unsigned char*>(a[4]));
}
void t_kat_mma(const uint64_t* a) {
  kat_mma(arg<const int8_t*>(a[0]), arg<const int8_t*>(a[1]), arg<int32_t*>(a[2]), arg<int32_t*>(a[3]));
}
void t_kat_shfl(const uint64_t* a) { kat_shfl(arg<int32_t*>(a[0])); }
void t_missing_wait(const uint64_t* a) {
  missing_wait(arg<const int8_t*>(a[0]), arg<int8_t*>(a[1]), arg<long long>(a[2]));
}
void t_hopper_probe(const uint64_t* a) {
  hopper_probe(arg<const void*>(a[0]), arg<const void*>(a[1]), arg<const int8_t*>(a[2]), arg<int32_t*>(a[3]),
               arg<long long>(a[4]), arg<long long>(a[5]));
}
void t_kat_ldsm(const uint64_t* a) { kat_ldsm(arg<const uint32_t*>(a[0]), arg<uint32_t*>(a[1]), arg<long long>(a[2])); }
void t_divergent_barrier(const uint64_t*) { divergent_barrier(); }
void t_divergent_shfl(const uint64_t* a) { divergent_shfl(arg<int32_t*>(a[0])); }
void t_smem_overrun(const uint64_t* a) { smem_overrun(arg<long long>(a[0])); }
void t_gmem_overrun(const uint64_t* a) { gmem_overrun(arg<int8_t*>(a[0]), arg<long long>(a[1])); }
void t_local_overrun(const uint64_t* a) { local_overrun(arg<int32_t*>(a[0]), arg<long long>(a[1])); }

struct Entry {
  const char* name;
  int nargs;
  emu::trampoline fn;
  bool selftest;  // the emulator's own test kernels, not trainproof's
};
const Entry kernels[] = {
    {"pack_s8", 7, t_pack_s8},
    {"gemm_s8_tc", 7, t_gemm_s8_tc},
    {"gemm_s8_sm90", 7, t_gemm_s8_sm90},
    {"gemm_s8_sm90_cv", 12, t_gemm_s8_sm90_cv},
    {"project_i32", 5, t_project_i32},
    {"project_i8", 5, t_project_i8},
    {"project_cols_i8", 5, t_project_cols_i8},
    {"blake3_chunks", 8, t_blake3_chunks},
    {"blake3_parents", 8, t_blake3_parents},
    {"fill_u8", 3, t_fill_u8},
    {"view_rows", 4, t_view_rows},
    {"act_rows", 4, t_act_rows},
    {"loss_grad_rows", 6, t_loss_grad_rows},
    {"back_act_rows", 6, t_back_act_rows},
    {"gemm_s8_tc_update", 11, t_gemm_s8_tc_update},
    {"gather_rows", 5, t_gather_rows},
    // The emulator's own tests (kernels/emu/selftest.cu).
    {"kat_mma", 4, t_kat_mma, true},
    {"kat_shfl", 1, t_kat_shfl, true},
    {"kat_ldsm", 3, t_kat_ldsm, true},
    {"missing_wait", 3, t_missing_wait, true},
    {"divergent_barrier", 0, t_divergent_barrier, true},
    {"divergent_shfl", 1, t_divergent_shfl, true},
    {"smem_overrun", 1, t_smem_overrun, true},
    {"gmem_overrun", 2, t_gmem_overrun, true},
    {"local_overrun", 2, t_local_overrun, true},
    {"hopper_probe", 6, t_hopper_probe, true},
};

}  // namespace

extern "C" const char* emu_kernel(int i, int* selftest) {
  if (i < 0 || i >= (int)(sizeof kernels / sizeof kernels[0])) return nullptr;
  *selftest = kernels[i].selftest;
  return kernels[i].name;
}

extern "C" const char* emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                  unsigned bz, size_t smem, const uint64_t* args, int nargs) {
  for (const Entry& e : kernels) {
    if (strcmp(e.name, name) == 0) {
      if (nargs != e.nargs) return "emulator: wrong number of kernel arguments";
      return emu::launch(e.name, e.fn, {gx, gy, gz}, {bx, by, bz}, smem, args);
    }
  }
  return "emulator: no such kernel";
}

extern "C" void emu_stats(uint64_t out[8]) {
  emu::Stats s = emu::stats();
  out[0] = s.tma_bytes;
  out[1] = s.tma_copies;
  out[2] = s.wgmma_macs;
  out[3] = s.wgmmas;
  out[4] = s.cp_async_bytes;
  out[5] = s.mma_macs;
  out[6] = s.ldsm_matrices;
  out[7] = s.ldsm_wavefronts;
}
