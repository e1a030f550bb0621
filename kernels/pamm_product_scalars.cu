#include "pamm_common.cuh"

// The GEMM scalars of a product, computed on the device so that β (from the dropped count η that
// the compression left on the device) never needs a round trip to the host:
// scalars[0] = a·β, scalars[1] = c. Without a dropped count (exact products) β = 1.
#define PAMM_PRODUCT_SCALARS_THREADS 32

extern "C" __global__ void __launch_bounds__(PAMM_PRODUCT_SCALARS_THREADS)
pamm_product_scalars(const int* __restrict__ dropped, int rows, float a, float c, float* __restrict__ scalars)
{
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    int eta = dropped != 0 ? *dropped : 0;
    double beta = eta >= rows ? 0.0 : (double)rows / (double)(rows - eta);
    scalars[0] = (float)((double)a * beta);
    scalars[1] = c;
}
PAMM_EXPORT_KERNEL(pamm_product_scalars)
