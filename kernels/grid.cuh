// grid.cuh: the launch shape of the grid-stride kernels in kernels/ (all but
// logreg.cu's reductions): 256 threads a block, and a thread an item up to
// 2^20 blocks, past which the threads stride. In an anonymous namespace:
// each .cu file that includes it has its own internal copy.
#ifndef DLP_KERNELS_GRID_CUH
#define DLP_KERNELS_GRID_CUH

#include <stddef.h>

namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxBlocks = 1u << 20;  // grid-stride beyond

unsigned blocks_for(size_t total)
{
    size_t blocks = (total + kThreads - 1) / kThreads;
    if (blocks > kMaxBlocks) blocks = kMaxBlocks;
    return (unsigned)blocks;
}

}  // namespace

#endif
