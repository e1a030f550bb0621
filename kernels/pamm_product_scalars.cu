#include "pamm_common.cuh"

// The GEMM scalars of a product, computed on the device so that β (from the dropped count η that
// the compression left on the device) never needs a round trip to the host:
// scalars[0] = a·β, scalars[1] = c, scalars[2] = 0. Without a dropped count (exact products) β = 1.
#define PAMM_PRODUCT_SCALARS_THREADS 32

// The approximate product writes the same scalars from its second reduction pass (pamm_reduce_groups), saving a
// launch; this kernel serves the exact reference product.
extern "C" __global__ void __launch_bounds__(PAMM_PRODUCT_SCALARS_THREADS)
pamm_product_scalars(const int* __restrict__ dropped, int rows, float a, float c, float* __restrict__ scalars)
{
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    pamm_write_product_scalars(dropped, rows, a, c, scalars);
}
PAMM_EXPORT_KERNEL(pamm_product_scalars)
