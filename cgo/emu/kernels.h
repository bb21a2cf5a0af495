#pragma once
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
const char* emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                       size_t smem, const uint64_t* args, int nargs);
// emu_kernel names kernel i of the emulated build (nullptr past the end);
// *selftest says whether it is one of the emulator's own test kernels.
const char* emu_kernel(int i, int* selftest);
// emu_stats reads the counters over every launch so far: bulk-copy bytes
// and copies, wgmma multiply-accumulates and instructions (Hopper);
// cp.async bytes, mma.sync multiply-accumulates, ldmatrix matrices and
// their shared-memory wavefronts (sm_80).
void emu_stats(uint64_t out[8]);
#ifdef __cplusplus
}
#endif
