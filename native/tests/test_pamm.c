/*
 * test_pamm.c: tests of libpammcuda's C ABI (native/include/pamm.h) on the CPU backend, plus the
 * CUDA availability calls, the caller-memory functions (sizes, pamm_cpu_compress_into, pamm_cpu_compressed_open, the argument checks of
 * pamm_compress_into) and, where CUDA is available, per-call options and caller memory on the GPU engine (device
 * memory through the driver API, loaded with dlopen so that the test builds without a CUDA toolkit).
 * Built and run by scripts/native-tests.sh; prints one line per failed check and ends with "N passed, N failed".
 */
#include "pamm.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(condition, ...)                                                  \
    do {                                                                       \
        if (condition) {                                                       \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                        \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

/* A failing call with the expected status and a message naming `needle`. */
#define CHECK_ERROR(call, expected, needle)                                    \
    do {                                                                       \
        pamm_status status_ = (call);                                          \
        CHECK(status_ == (expected), "%s returned %s, expected %s (%s)", #call,  \
              pamm_status_name(status_), pamm_status_name(expected), pamm_last_error()); \
        CHECK(strstr(pamm_last_error(), (needle)) != NULL,                     \
              "%s: message \"%s\" does not name \"%s\"", #call, pamm_last_error(), (needle)); \
    } while (0)

#define CHECK_OK(call)                                                         \
    do {                                                                       \
        pamm_status status_ = (call);                                          \
        CHECK(status_ == PAMM_OK, "%s returned %s: %s", #call, pamm_status_name(status_), pamm_last_error()); \
    } while (0)

/* A reproducible uniform value in [-1, 1) (xorshift64*). */
static float next_uniform(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    uint64_t bits = *state * 0x2545F4914F6CDD1DULL;
    return (float)((double)(bits >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
}

static float *random_matrix(int rows, int cols, uint64_t seed) {
    float *values = malloc(sizeof(float) * (size_t)rows * (size_t)cols);
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) values[i] = next_uniform(&state);
    return values;
}

/* Rows that lie close to one of `directions` random lines: the structure PAMM is built for. */
static float *clustered_matrix(int rows, int cols, int directions, float noise, uint64_t seed) {
    float *basis = random_matrix(directions, cols, seed);
    float *values = malloc(sizeof(float) * (size_t)rows * (size_t)cols);
    uint64_t state = seed + 17;
    for (int i = 0; i < rows; i++) {
        int d = i % directions;
        float scale = 0.5f + next_uniform(&state);
        for (int j = 0; j < cols; j++)
            values[(size_t)i * cols + j] = scale * basis[(size_t)d * cols + j] + noise * next_uniform(&state);
    }
    free(basis);
    return values;
}

static double relative_error(const float *approx, const float *exact, size_t count) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        diff += ((double)approx[i] - exact[i]) * ((double)approx[i] - exact[i]);
        norm += (double)exact[i] * exact[i];
    }
    return sqrt(diff / norm);
}

static double max_abs_difference(const float *a, const float *b, size_t count) {
    double worst = 0;
    for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

static uint16_t to_bfloat16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

static float from_bfloat16(uint16_t value) {
    uint32_t bits = (uint32_t)value << 16;
    float result;
    memcpy(&result, &bits, sizeof result);
    return result;
}

static pamm_options options_with_k(int32_t k) {
    pamm_options options;
    pamm_options_init(&options);
    options.k = k;
    return options;
}

static void test_version_and_names(void) {
    const char *version = pamm_version();
    int major, minor, patch;
    CHECK(version != NULL && sscanf(version, "%d.%d.%d", &major, &minor, &patch) == 3, "pamm_version() = \"%s\"", version);
    CHECK(pamm_abi_version() == PAMM_ABI_VERSION, "ABI %d, header %d", pamm_abi_version(), PAMM_ABI_VERSION);
    CHECK(strcmp(pamm_status_name(PAMM_OK), "PAMM_OK") == 0, "name of PAMM_OK");
    CHECK(strcmp(pamm_status_name(PAMM_ERROR_INVALID_HANDLE), "PAMM_ERROR_INVALID_HANDLE") == 0, "name of INVALID_HANDLE");
    CHECK(strcmp(pamm_status_name((pamm_status)99), "PAMM_STATUS_UNKNOWN") == 0, "name of an unknown status");
}

static void test_cpu_vector_bits(void) {
    int32_t bits = 0;
    CHECK_OK(pamm_cpu_vector_bits(&bits));
    CHECK(bits == 32 || bits == 128 || bits == 256 || bits == 512, "pamm_cpu_vector_bits gave %d", bits);
#if defined(__x86_64__)
    /* This library is compiled for x86-64-v3 (or wider): a narrower width would mean FMA in software, up to
       about 100x slower. */
    CHECK(bits >= 256, "x86-64 library runs its CPU kernels at %d bits, below 256 (AVX2 with FMA)", bits);
#endif
    CHECK_ERROR(pamm_cpu_vector_bits(NULL), PAMM_ERROR_INVALID_ARGUMENT, "bits");
}

static void test_options_init(void) {
    pamm_options options;
    memset(&options, 0xFF, sizeof options);
    CHECK_OK(pamm_options_init(&options));
    CHECK(fabs(options.ratio - 1.0 / 512.0) < 1e-15, "default ratio %g", options.ratio);
    CHECK(options.k == 0 && isinf(options.epsilon) && options.epsilon > 0 && options.seed == 0 && options.alpha_dtype == PAMM_FLOAT32 &&
          options.refine_generators == 0,
          "defaults k=%d epsilon=%g seed=%llu alpha_dtype=%d refine_generators=%d", options.k, options.epsilon,
          (unsigned long long)options.seed, (int)options.alpha_dtype, (int)options.refine_generators);
    CHECK_ERROR(pamm_options_init(NULL), PAMM_ERROR_INVALID_ARGUMENT, "options");
}

/* pamm.h's string rule on one string function (called with `ordinal` when it takes one): a size query
   succeeds, an exact buffer gets the text, one byte less gets nothing, bad arguments are named. */
static void check_string_rule(const char *function, pamm_status (*get)(int32_t, char *, size_t, size_t *), int32_t ordinal) {
    size_t length = (size_t)-1;
    pamm_status status = get(ordinal, NULL, 0, &length);
    CHECK(status == PAMM_OK && length != (size_t)-1, "%s size query: %s, length %zu (%s)", function, pamm_status_name(status), length, pamm_last_error());
    if (status != PAMM_OK) return;
    char *text = malloc(length + 1);
    memset(text, '#', length + 1);
    size_t written = (size_t)-1;
    CHECK_ERROR(get(ordinal, text, length, &written), PAMM_ERROR_BUFFER_TOO_SMALL, function);
    CHECK(written == length, "%s: a too-small buffer reports length %zu, the query said %zu", function, written, length);
    int untouched = 1;
    for (size_t i = 0; i < length + 1; i++) untouched &= text[i] == '#';
    CHECK(untouched, "%s wrote into a buffer too small for the text and its NUL", function);
    written = (size_t)-1;
    CHECK_OK(get(ordinal, text, length + 1, &written));
    CHECK(written == length && strlen(text) == length, "%s: \"%s\" has %zu bytes, said %zu and %zu", function, text, strlen(text), written, length);
    free(text);
    CHECK_ERROR(get(ordinal, NULL, 8, &written), PAMM_ERROR_INVALID_ARGUMENT, "buffer");
    char small[4];
    CHECK_ERROR(get(ordinal, small, sizeof small, NULL), PAMM_ERROR_INVALID_ARGUMENT, "length");
}

static pamm_status unavailable_reason(int32_t ordinal, char *buffer, size_t capacity, size_t *length) {
    (void)ordinal;
    return pamm_cuda_unavailable_reason(buffer, capacity, length);
}

static void test_cuda_queries(void) {
    int32_t available = -1;
    CHECK_OK(pamm_cuda_available(&available));
    CHECK(available == 0 || available == 1, "available = %d", available);
    check_string_rule("pamm_cuda_unavailable_reason", unavailable_reason, 0);
    size_t length = (size_t)-1;
    CHECK_OK(pamm_cuda_unavailable_reason(NULL, 0, &length));
    char name[256];
    if (available) {
        CHECK(length == 0, "CUDA is available but the reason has %zu bytes", length);
        check_string_rule("pamm_cuda_device_name", pamm_cuda_device_name, 0);
        CHECK_OK(pamm_cuda_device_name(0, name, sizeof name, &length));
        CHECK(length > 0 && strstr(name, "(sm_") != NULL, "device name \"%s\"", name);
        CHECK_ERROR(pamm_cuda_device_name(-1, name, sizeof name, &length), PAMM_ERROR_INVALID_ARGUMENT, "ordinal");
        return;
    }
    CHECK(length > 0, "CUDA is unavailable but the reason is empty");
    char reason[1024];
    CHECK_OK(pamm_cuda_unavailable_reason(reason, sizeof reason, &length));
    printf("info: CUDA unavailable here: %s\n", reason);
    CHECK_ERROR(pamm_cuda_device_name(0, name, sizeof name, &length), PAMM_ERROR_CUDA_UNAVAILABLE, "pamm_cuda_device_name");
    /* The buffer arguments are checked before CUDA is asked for anything. */
    CHECK_ERROR(pamm_cuda_device_name(0, NULL, 8, &length), PAMM_ERROR_INVALID_ARGUMENT, "buffer");
    pamm_engine engine = NULL;
    pamm_options options;
    pamm_options_init(&options);
    CHECK_ERROR(pamm_engine_create(0, NULL, &options, &engine), PAMM_ERROR_CUDA_UNAVAILABLE, "pamm_engine_create");
    CHECK(engine == NULL, "no engine is returned on failure");
}

/* With k = rows every row is its own generator, so the approximation is the exact product. */
static void test_full_ratio_is_exact(void) {
    enum { ROWS = 64, COLS = 24, GCOLS = 10 };
    float *x = random_matrix(ROWS, COLS, 1), *g = random_matrix(ROWS, GCOLS, 2);
    float approx[COLS * GCOLS], exact[COLS * GCOLS];
    pamm_options options;
    CHECK_OK(pamm_options_init(&options));
    options.ratio = 1.0;
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    for (int layout = PAMM_INPUT_BY_GRADIENT; layout <= PAMM_GRADIENT_BY_INPUT; layout++) {
        CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, approx, PAMM_FLOAT32, (pamm_layout)layout, 1, 0));
        CHECK_OK(pamm_cpu_exact_matmul(x, ROWS, COLS, PAMM_FLOAT32, g, GCOLS, PAMM_FLOAT32, exact, PAMM_FLOAT32, (pamm_layout)layout, 1, 0));
        /* Each element sums ROWS products of values in [-1, 1]: a float32 rounding bound. */
        double tolerance = ROWS * 4 * 1.2e-7;
        CHECK(max_abs_difference(approx, exact, COLS * GCOLS) <= tolerance, "layout %d: r = 1 differs from exact by %g",
              layout, max_abs_difference(approx, exact, COLS * GCOLS));
    }
    /* out = a P + c out accumulates in place. */
    float accumulated[COLS * GCOLS], expected[COLS * GCOLS];
    for (int i = 0; i < COLS * GCOLS; i++) accumulated[i] = expected[i] = (float)i / 100.0f;
    CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, accumulated, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 2.0f, 0.5f));
    CHECK_OK(pamm_cpu_exact_matmul(x, ROWS, COLS, PAMM_FLOAT32, g, GCOLS, PAMM_FLOAT32, expected, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 2.0f, 0.5f));
    CHECK(max_abs_difference(accumulated, expected, COLS * GCOLS) <= ROWS * 8 * 1.2e-7, "a = 2, c = 0.5 differs by %g",
          max_abs_difference(accumulated, expected, COLS * GCOLS));
    /* GradientByInput is the transpose of InputByGradient. */
    float transposed[GCOLS * COLS];
    CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, approx, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, transposed, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0));
    int transpose_equal = 1;
    for (int i = 0; i < COLS; i++)
        for (int j = 0; j < GCOLS; j++) transpose_equal &= approx[i * GCOLS + j] == transposed[j * COLS + i];
    CHECK(transpose_equal, "GradientByInput is not the exact transpose of InputByGradient");
    CHECK_OK(pamm_compressed_free(compressed));
    free(x);
    free(g);
}

static void test_info_reports_stored_bytes(void) {
    enum { ROWS = 100, COLS = 12, K = 7 };
    float *x = random_matrix(ROWS, COLS, 3);
    pamm_options options = options_with_k(K);
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    pamm_compressed_info info;
    CHECK_OK(pamm_compressed_get_info(compressed, &info));
    CHECK(info.rows == ROWS && info.cols == COLS && info.k == K && info.dtype == PAMM_FLOAT32 && info.on_gpu == 0,
          "info rows %d cols %d k %d dtype %d on_gpu %d", info.rows, info.cols, info.k, info.dtype, info.on_gpu);
    /* Generators in float32, an 8-bit assignment (k <= 256) and a float32 coefficient per row, one int32 count. */
    int64_t expected = (int64_t)K * COLS * 4 + (int64_t)ROWS * (1 + 4) + 4;
    CHECK(info.stored_bytes == expected, "stored %lld bytes, expected %lld", (long long)info.stored_bytes, (long long)expected);
    CHECK(info.dense_bytes == (int64_t)ROWS * COLS * 4, "dense %lld bytes", (long long)info.dense_bytes);
    CHECK(info.dropped_rows == 0, "epsilon = INFINITY dropped %d rows", info.dropped_rows);
    CHECK(info.alpha_dtype == PAMM_FLOAT32, "alpha stored as %d by default", (int)info.alpha_dtype);
    CHECK_OK(pamm_compressed_free(compressed));

    /* alpha in bfloat16: two bytes a row fewer; float16 (whose range could overflow alpha) is refused. */
    options.alpha_dtype = PAMM_BFLOAT16;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK_OK(pamm_compressed_get_info(compressed, &info));
    CHECK(info.alpha_dtype == PAMM_BFLOAT16 && info.stored_bytes == expected - 2 * ROWS,
          "bfloat16 alpha: stored as %d, %lld bytes, expected %lld", (int)info.alpha_dtype, (long long)info.stored_bytes,
          (long long)(expected - 2 * ROWS));
    CHECK_OK(pamm_compressed_free(compressed));
    options.alpha_dtype = PAMM_FLOAT16;
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->alpha_dtype");
    options.alpha_dtype = PAMM_FLOAT32;

    /* epsilon = 0 keeps only generator rows when no other row lies on a generator's line. */
    options.epsilon = 0;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK_OK(pamm_compressed_get_info(compressed, &info));
    CHECK(info.dropped_rows == ROWS - K, "epsilon = 0 dropped %d rows, expected %d", info.dropped_rows, ROWS - K);
    CHECK_OK(pamm_compressed_free(compressed));
    free(x);
}

/* On rows near a few lines, a few generators give a close approximation; on noise it stays finite and bounded. */
static void test_approximation_error(void) {
    enum { ROWS = 512, COLS = 32, GCOLS = 16, K = 64 };
    float *g = random_matrix(ROWS, GCOLS, 5);
    float approx[COLS * GCOLS], exact[COLS * GCOLS];
    pamm_options options = options_with_k(K);
    options.seed = 42;

    float *clustered = clustered_matrix(ROWS, COLS, 8, 0.01f, 4);
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_cpu_compress(clustered, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, approx, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK_OK(pamm_cpu_exact_matmul(clustered, ROWS, COLS, PAMM_FLOAT32, g, GCOLS, PAMM_FLOAT32, exact, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    double clustered_error = relative_error(approx, exact, COLS * GCOLS);
    printf("info: relative error, 8 lines + 1%% noise, k = %d of %d: %.4f\n", K, ROWS, clustered_error);
    CHECK(clustered_error < 0.05, "clustered relative error %g", clustered_error);
    CHECK_OK(pamm_compressed_free(compressed));

    float *noise = random_matrix(ROWS, COLS, 6);
    CHECK_OK(pamm_cpu_compress(noise, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, approx, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK_OK(pamm_cpu_exact_matmul(noise, ROWS, COLS, PAMM_FLOAT32, g, GCOLS, PAMM_FLOAT32, exact, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    double noise_error = relative_error(approx, exact, COLS * GCOLS);
    printf("info: relative error, uniform noise, k = %d of %d: %.4f\n", K, ROWS, noise_error);
    CHECK(isfinite(noise_error) && noise_error > clustered_error && noise_error < 3.0, "noise relative error %g", noise_error);
    CHECK_OK(pamm_compressed_free(compressed));
    free(noise);
    free(clustered);
    free(g);
}

/* options.refine_generators = 1 turns each generator to its rows' weighted sum: the same stored size and a smaller
   error on lines with noise; values other than 0 and 1 are refused, naming the field. */
static void test_refine_generators(void) {
    enum { ROWS = 512, COLS = 32, GCOLS = 16, K = 16 };
    float *x = clustered_matrix(ROWS, COLS, 8, 0.3f, 11), *g = random_matrix(ROWS, GCOLS, 12);
    float approx[COLS * GCOLS], exact[COLS * GCOLS];
    CHECK_OK(pamm_cpu_exact_matmul(x, ROWS, COLS, PAMM_FLOAT32, g, GCOLS, PAMM_FLOAT32, exact, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    pamm_options options = options_with_k(K);
    options.seed = 3;
    double error[2];
    int64_t stored[2];
    for (int refine = 0; refine <= 1; refine++) {
        options.refine_generators = refine;
        pamm_compressed compressed = NULL;
        CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
        CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, approx, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
        pamm_compressed_info info;
        CHECK_OK(pamm_compressed_get_info(compressed, &info));
        stored[refine] = info.stored_bytes;
        error[refine] = relative_error(approx, exact, COLS * GCOLS);
        CHECK_OK(pamm_compressed_free(compressed));
    }
    printf("info: relative error, 8 lines + 30%% noise, k = %d of %d: %.4f, with refined generators %.4f\n", K, ROWS, error[0], error[1]);
    CHECK(error[1] < error[0], "refined generators: error %g, not below %g", error[1], error[0]);
    CHECK(stored[1] == stored[0], "refined generators store %lld bytes, not %lld", (long long)stored[1], (long long)stored[0]);
    options.refine_generators = 2;
    pamm_compressed compressed = NULL;
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->refine_generators");
    free(x);
    free(g);
}

/* The same seed picks the same generators: results are bitwise identical; another seed changes them. */
static void test_determinism(void) {
    enum { ROWS = 200, COLS = 16, GCOLS = 8 };
    float *x = random_matrix(ROWS, COLS, 7), *g = random_matrix(ROWS, GCOLS, 8);
    float first[COLS * GCOLS], second[COLS * GCOLS];
    pamm_options options = options_with_k(20);
    options.seed = 1234;
    pamm_compressed a = NULL, b = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &a));
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &b));
    CHECK_OK(pamm_cpu_approx_matmul(a, g, GCOLS, PAMM_FLOAT32, first, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK_OK(pamm_cpu_approx_matmul(b, g, GCOLS, PAMM_FLOAT32, second, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK(memcmp(first, second, sizeof first) == 0, "same seed, different results");
    CHECK_OK(pamm_compressed_free(b));
    options.seed = 1235;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &b));
    CHECK_OK(pamm_cpu_approx_matmul(b, g, GCOLS, PAMM_FLOAT32, second, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK(memcmp(first, second, sizeof first) != 0, "another seed gave the same result");
    CHECK_OK(pamm_compressed_free(a));
    CHECK_OK(pamm_compressed_free(b));
    free(x);
    free(g);
}

/* bfloat16 X and G at r = 1 match the exact product of the same bfloat16 values, into a bfloat16 output. */
static void test_bfloat16(void) {
    enum { ROWS = 48, COLS = 8, GCOLS = 4 };
    float *xf = random_matrix(ROWS, COLS, 9), *gf = random_matrix(ROWS, GCOLS, 10);
    uint16_t x[ROWS * COLS], g[ROWS * GCOLS], out[COLS * GCOLS];
    float exact[COLS * GCOLS];
    for (int i = 0; i < ROWS * COLS; i++) x[i] = to_bfloat16(xf[i]);
    for (int i = 0; i < ROWS * GCOLS; i++) g[i] = to_bfloat16(gf[i]);
    pamm_options options = options_with_k(ROWS);
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_BFLOAT16, &options, &compressed));
    CHECK_OK(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_BFLOAT16, out, PAMM_BFLOAT16, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK_OK(pamm_cpu_exact_matmul(x, ROWS, COLS, PAMM_BFLOAT16, g, GCOLS, PAMM_BFLOAT16, exact, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    int close = 1;
    for (int i = 0; i < COLS * GCOLS; i++)
        close &= fabs(from_bfloat16(out[i]) - exact[i]) <= fabs(exact[i]) / 128.0 + ROWS * 1e-6;
    CHECK(close, "bfloat16 output is not the exact product rounded to bfloat16");
    pamm_compressed_info info;
    CHECK_OK(pamm_compressed_get_info(compressed, &info));
    CHECK(info.dtype == PAMM_BFLOAT16 && info.stored_bytes == (int64_t)ROWS * COLS * 2 + ROWS * 5 + 4,
          "bfloat16 info: dtype %d, %lld bytes", info.dtype, (long long)info.stored_bytes);
    CHECK_OK(pamm_compressed_free(compressed));
    free(xf);
    free(gf);
}

static void test_argument_errors(void) {
    enum { ROWS = 10, COLS = 4, GCOLS = 3 };
    float *x = random_matrix(ROWS, COLS, 11), *g = random_matrix(ROWS, GCOLS, 12);
    float out[COLS * GCOLS];
    pamm_options options = options_with_k(3);
    pamm_compressed compressed = (pamm_compressed)&options;

    CHECK_ERROR(pamm_cpu_compress(NULL, ROWS, COLS, PAMM_FLOAT32, &options, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "x");
    CHECK(compressed == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, NULL, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options");
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, NULL), PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, (pamm_dtype)7, &options, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "dtype");
    CHECK_ERROR(pamm_cpu_compress(x, 0, COLS, PAMM_FLOAT32, &options, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "rows");
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, -1, PAMM_FLOAT32, &options, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "cols");

    pamm_options bad = options_with_k(ROWS + 1);
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &bad, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->k");
    bad = options_with_k(-2);
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &bad, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->k");
    bad = options_with_k(3);
    bad.epsilon = -0.5;
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &bad, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->epsilon");
    bad.epsilon = NAN;
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &bad, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->epsilon");
    bad = options_with_k(0);
    bad.ratio = 1.5;
    CHECK_ERROR(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &bad, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->ratio");

    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK(strcmp(pamm_last_error(), "") == 0, "success leaves \"%s\" as the last error", pamm_last_error());
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, NULL, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "grad");
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, NULL, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "out");
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, g, 0, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "grad_cols");
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, g, GCOLS, (pamm_dtype)-1, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "grad_dtype");
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, out, (pamm_dtype)3, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "out_dtype");
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, (pamm_layout)2, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "layout");
    CHECK_ERROR(pamm_cpu_approx_matmul(NULL, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_ERROR(pamm_approx_matmul(NULL, compressed, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_approx_matmul((pamm_engine)compressed, compressed, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0),
                PAMM_ERROR_INVALID_HANDLE, "not a pamm_engine");
    CHECK_ERROR(pamm_cpu_exact_matmul(x, ROWS, COLS, (pamm_dtype)5, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "x_dtype");
    CHECK_ERROR(pamm_cpu_exact_matmul(x, ROWS, COLS, PAMM_FLOAT32, NULL, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_ARGUMENT, "grad");
    CHECK_ERROR(pamm_compressed_get_info(compressed, NULL), PAMM_ERROR_INVALID_ARGUMENT, "info");
    CHECK_OK(pamm_compressed_free(compressed));
    free(x);
    free(g);
}

/* The few CUDA driver calls that the GPU test needs, from libcuda.so.1; NULL members when it is missing. */
typedef struct cuda_driver {
    void *library;
    int (*init)(unsigned int flags);
    int (*device_get)(int *device, int ordinal);
    int (*primary_ctx_retain)(void **context, int device);
    int (*primary_ctx_release)(int device);
    int (*ctx_set_current)(void *context);
    int (*ctx_get_current)(void **context);
    int (*ctx_synchronize)(void);
    int (*mem_alloc)(unsigned long long *address, size_t bytes);
    int (*mem_free)(unsigned long long address);
    int (*memcpy_htod)(unsigned long long destination, const void *source, size_t bytes);
    int (*memcpy_dtoh)(void *destination, unsigned long long source, size_t bytes);
    int device;    /* device 0, whose primary context open_gpu makes current */
    void *context;
} cuda_driver;

static int load_cuda_driver(cuda_driver *cuda) {
    memset(cuda, 0, sizeof *cuda);
    cuda->library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (cuda->library == NULL) return 0;
    /* dlsym returns object pointers; POSIX guarantees they convert to function pointers. */
    *(void **)&cuda->init = dlsym(cuda->library, "cuInit");
    *(void **)&cuda->device_get = dlsym(cuda->library, "cuDeviceGet");
    *(void **)&cuda->primary_ctx_retain = dlsym(cuda->library, "cuDevicePrimaryCtxRetain");
    *(void **)&cuda->primary_ctx_release = dlsym(cuda->library, "cuDevicePrimaryCtxRelease_v2");
    *(void **)&cuda->ctx_set_current = dlsym(cuda->library, "cuCtxSetCurrent");
    *(void **)&cuda->ctx_get_current = dlsym(cuda->library, "cuCtxGetCurrent");
    *(void **)&cuda->ctx_synchronize = dlsym(cuda->library, "cuCtxSynchronize");
    *(void **)&cuda->mem_alloc = dlsym(cuda->library, "cuMemAlloc_v2");
    *(void **)&cuda->mem_free = dlsym(cuda->library, "cuMemFree_v2");
    *(void **)&cuda->memcpy_htod = dlsym(cuda->library, "cuMemcpyHtoD_v2");
    *(void **)&cuda->memcpy_dtoh = dlsym(cuda->library, "cuMemcpyDtoH_v2");
    return cuda->init && cuda->device_get && cuda->primary_ctx_retain && cuda->primary_ctx_release && cuda->ctx_set_current &&
           cuda->ctx_get_current && cuda->ctx_synchronize && cuda->mem_alloc && cuda->mem_free && cuda->memcpy_htod && cuda->memcpy_dtoh;
}

/* A GPU test's start: the driver API, with device 0's primary context current (what a framework has). 0 where the
   library has no CUDA here, after saying what is then `checked_on_gpu_only`. */
static int open_gpu(cuda_driver *cuda, const char *checked_on_gpu_only) {
    int32_t available = 0;
    CHECK_OK(pamm_cuda_available(&available));
    if (!available) {
        /* A GPU visit sets PAMM_REQUIRE_CUDA=1: there, a GPU test that does not run is a failure, not a skip. */
        const char *required = getenv("PAMM_REQUIRE_CUDA");
        CHECK(required == NULL || strcmp(required, "1") != 0, "PAMM_REQUIRE_CUDA=1, but the library cannot use CUDA here, so %s nowhere",
              checked_on_gpu_only);
        printf("info: no CUDA here, so %s on the GPU only where it is\n", checked_on_gpu_only);
        return 0;
    }
    if (!load_cuda_driver(cuda)) {
        CHECK(0, "the library can use CUDA, but the test cannot load the driver API from libcuda.so.1");
        if (cuda->library != NULL) dlclose(cuda->library);
        return 0;
    }
    CHECK(cuda->init(0) == 0 && cuda->device_get(&cuda->device, 0) == 0 && cuda->primary_ctx_retain(&cuda->context, cuda->device) == 0 &&
          cuda->ctx_set_current(cuda->context) == 0, "the test's CUDA context on device 0");
    return 1;
}

static void close_gpu(cuda_driver *cuda) {
    cuda->primary_ctx_release(cuda->device);
    dlclose(cuda->library);
}

static unsigned long long device_copy_of(const cuda_driver *cuda, const float *values, size_t count) {
    unsigned long long address = 0;
    CHECK(cuda->mem_alloc(&address, sizeof(float) * count) == 0, "cuMemAlloc of %zu floats", count);
    CHECK(cuda->memcpy_htod(address, values, sizeof(float) * count) == 0, "cuMemcpyHtoD of %zu floats", count);
    return address;
}

/* X^T G (cols x grad_cols, float32) from a GPU compressed activation, copied to the host. */
static void gpu_product(const cuda_driver *cuda, pamm_engine engine, pamm_compressed compressed, unsigned long long g,
                        int32_t grad_cols, unsigned long long out, float *host_out, size_t count) {
    CHECK_OK(pamm_approx_matmul(engine, compressed, (const void *)(uintptr_t)g, grad_cols, PAMM_FLOAT32,
                                (void *)(uintptr_t)out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK(cuda->ctx_synchronize() == 0, "cuCtxSynchronize after pamm_approx_matmul");
    CHECK(cuda->memcpy_dtoh(host_out, out, sizeof(float) * count) == 0, "cuMemcpyDtoH of the product");
}

/* pamm_compress_with_options: its argument checks on any host; on a GPU, a per-call seed gives bit for bit
   what an engine created with that seed gives, another seed something else, and the engine's own options stay. */
static void test_compress_with_options(void) {
    enum { ROWS = 256, COLS = 16, GCOLS = 8 };
    float *x = random_matrix(ROWS, COLS, 21), *g = random_matrix(ROWS, GCOLS, 22);
    pamm_options seeded = options_with_k(12), other = options_with_k(12), defaults = options_with_k(0);
    seeded.seed = 1234;
    other.seed = 1235;
    pamm_compressed compressed = (pamm_compressed)&seeded;
    CHECK_ERROR(pamm_compress_with_options(NULL, x, ROWS, COLS, PAMM_FLOAT32, NULL, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options");
    CHECK(compressed == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(pamm_compress_with_options(NULL, x, ROWS, COLS, PAMM_FLOAT32, &seeded, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_compress_with_options(NULL, x, ROWS, COLS, PAMM_FLOAT32, &seeded, NULL), PAMM_ERROR_INVALID_ARGUMENT, "compressed");

    cuda_driver cuda;
    if (!open_gpu(&cuda, "per-call options are checked")) {
        free(x);
        free(g);
        return;
    }
    unsigned long long dx = device_copy_of(&cuda, x, (size_t)ROWS * COLS), dg = device_copy_of(&cuda, g, (size_t)ROWS * GCOLS);
    unsigned long long dout = 0;
    CHECK(cuda.mem_alloc(&dout, sizeof(float) * COLS * GCOLS) == 0, "cuMemAlloc of the product");

    pamm_engine created = NULL, shared = NULL;
    CHECK_OK(pamm_engine_create(0, NULL, &seeded, &created));
    CHECK_OK(pamm_engine_create(0, NULL, &defaults, &shared));
    pamm_compressed reference = NULL, per_call = NULL, other_seed = NULL, own_options = NULL;
    const void *device_x = (const void *)(uintptr_t)dx;
    CHECK_OK(pamm_compress(created, device_x, ROWS, COLS, PAMM_FLOAT32, &reference));
    CHECK_OK(pamm_compress_with_options(shared, device_x, ROWS, COLS, PAMM_FLOAT32, &seeded, &per_call));
    CHECK_OK(pamm_compress_with_options(shared, device_x, ROWS, COLS, PAMM_FLOAT32, &other, &other_seed));
    CHECK_OK(pamm_compress(shared, device_x, ROWS, COLS, PAMM_FLOAT32, &own_options));
    CHECK_ERROR(pamm_compress_with_options(shared, device_x, ROWS, COLS, PAMM_FLOAT32, NULL, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options");
    pamm_options too_many = options_with_k(ROWS + 1);
    CHECK_ERROR(pamm_compress_with_options(shared, device_x, ROWS, COLS, PAMM_FLOAT32, &too_many, &compressed), PAMM_ERROR_INVALID_ARGUMENT, "options->k");

    float expected[COLS * GCOLS], actual[COLS * GCOLS], different[COLS * GCOLS];
    gpu_product(&cuda, created, reference, dg, GCOLS, dout, expected, COLS * GCOLS);
    gpu_product(&cuda, shared, per_call, dg, GCOLS, dout, actual, COLS * GCOLS);
    gpu_product(&cuda, shared, other_seed, dg, GCOLS, dout, different, COLS * GCOLS);
    CHECK(memcmp(actual, expected, sizeof actual) == 0, "a per-call seed differs from an engine created with it (max |diff| %g)",
          max_abs_difference(actual, expected, COLS * GCOLS));
    CHECK(memcmp(different, expected, sizeof different) != 0, "seeds 1234 and 1235 gave the same product");
    pamm_compressed_info info;
    CHECK_OK(pamm_compressed_get_info(per_call, &info));
    CHECK(info.k == 12, "per-call k = %d, options->k = 12", info.k);
    CHECK_OK(pamm_compressed_get_info(own_options, &info));
    CHECK(info.k == 1, "after per-call options, pamm_compress used k = %d, not the engine's ratio (1 generator)", info.k);

    CHECK_OK(pamm_compressed_free(reference));
    CHECK_OK(pamm_compressed_free(per_call));
    CHECK_OK(pamm_compressed_free(other_seed));
    CHECK_OK(pamm_compressed_free(own_options));
    CHECK_OK(pamm_engine_destroy(created));
    CHECK_OK(pamm_engine_destroy(shared));
    cuda.mem_free(dx);
    cuda.mem_free(dg);
    cuda.mem_free(dout);
    close_gpu(&cuda);
    free(x);
    free(g);
}

/* ---- Caller-provided memory (PAMM_HAS_CALLER_MEMORY) ------------------------------------------- */

/* k from options, and the storage and workspace sizes: arithmetic only, the same on every host. */
static void test_sizes(void) {
    int32_t k = -1;
    pamm_options options;
    pamm_options_init(&options);
    CHECK_OK(pamm_resolve_k(&options, 1024, &k));
    CHECK(k == 2, "ratio 1/512 of 1024 rows gives k = %d, expected 2", k);
    options.k = 7;
    CHECK_OK(pamm_resolve_k(&options, 100, &k));
    CHECK(k == 7, "options->k = 7 resolves to %d", k);
    CHECK_ERROR(pamm_resolve_k(&options, 6, &k), PAMM_ERROR_INVALID_ARGUMENT, "options->k");
    CHECK_ERROR(pamm_resolve_k(NULL, 6, &k), PAMM_ERROR_INVALID_ARGUMENT, "options");
    CHECK_ERROR(pamm_resolve_k(&options, 100, NULL), PAMM_ERROR_INVALID_ARGUMENT, "k");

    /* 100 x 12 float32, k = 7: C 336 bytes, alpha at 512 (400 bytes), f at 1024 (100 bytes: 8 bits a row), eta at 1280. */
    size_t bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(100, 12, 7, PAMM_FLOAT32, PAMM_FLOAT32, &bytes));
    CHECK(bytes == 1284, "storage for 100 x 12 f32, k = 7: %zu bytes, expected 1284", bytes);
    int64_t stored = 7 * 12 * 4 + 100 * (1 + 4) + 4;
    CHECK((int64_t)bytes >= stored && (int64_t)bytes <= stored + 768, "storage %zu bytes, stored %lld", bytes, (long long)stored);
    /* alpha in bfloat16: 200 bytes instead of 400, so f moves to 768 and eta to 1024. */
    CHECK_OK(pamm_compressed_storage_bytes(100, 12, 7, PAMM_FLOAT32, PAMM_BFLOAT16, &bytes));
    CHECK(bytes == 1028, "storage for 100 x 12 f32, k = 7, bfloat16 alpha: %zu bytes, expected 1028", bytes);
    CHECK_ERROR(pamm_compressed_storage_bytes(100, 12, 7, PAMM_FLOAT32, PAMM_FLOAT16, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "alpha_dtype");
    /* k above 65536 stores f in 32 bits. */
    CHECK_OK(pamm_compressed_storage_bytes(70000, 1, 66000, PAMM_BFLOAT16, PAMM_FLOAT32, &bytes));
    CHECK(bytes == 132096 + 280064 + 280064 + 4, "storage with a 32-bit f: %zu bytes", bytes);

    size_t compress_bytes = 0, product_bytes = 0, product_f16 = 0;
    CHECK_OK(pamm_compress_workspace_bytes(4096, 256, 8, PAMM_FLOAT32, &compress_bytes));
    CHECK(compress_bytes >= 4096 * (8 + 4 + 4 + 4 + 4), "compress workspace %zu bytes is less than its per-row scratch", compress_bytes);
    CHECK_OK(pamm_approx_matmul_workspace_bytes(4096, 256, 8, PAMM_FLOAT32, 64, PAMM_FLOAT32, &product_bytes));
    CHECK(product_bytes >= 4096 * 16 + 8 * 64 * 4, "product workspace %zu bytes is less than the sort buffers and B~", product_bytes);
    /* A 16-bit output is written directly: no float32 product in the workspace, whatever the output's dtype. */
    size_t product_f16_to_f32 = 0;
    CHECK_OK(pamm_approx_matmul_workspace_bytes(4096, 256, 8, PAMM_FLOAT16, 64, PAMM_FLOAT16, &product_f16));
    CHECK_OK(pamm_approx_matmul_workspace_bytes(4096, 256, 8, PAMM_FLOAT16, 64, PAMM_FLOAT32, &product_f16_to_f32));
    CHECK(product_f16 == product_f16_to_f32, "a 16-bit output needs %zu bytes, a float32 one %zu", product_f16, product_f16_to_f32);
    /* A handle with a plan needs no room for grouping its rows: the unplanned size less a plan and its alignment. */
    size_t planned_bytes = 0, plan_bytes = 0;
    CHECK_OK(pamm_planned_matmul_workspace_bytes(4096, 256, 8, PAMM_FLOAT32, 64, PAMM_FLOAT32, &planned_bytes));
    CHECK_OK(pamm_product_plan_bytes(4096, 256, 8, PAMM_FLOAT32, &plan_bytes));
    CHECK(product_bytes - planned_bytes >= plan_bytes && product_bytes - planned_bytes < plan_bytes + 256,
          "planned product workspace %zu bytes, unplanned %zu, plan %zu", planned_bytes, product_bytes, plan_bytes);
    CHECK_ERROR(pamm_planned_matmul_workspace_bytes(100, 12, 7, PAMM_FLOAT32, 0, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT,
                "pamm_planned_matmul_workspace_bytes: grad_cols");
    CHECK_ERROR(pamm_planned_matmul_workspace_bytes(100, 12, 7, PAMM_FLOAT32, 4, PAMM_FLOAT32, NULL), PAMM_ERROR_INVALID_ARGUMENT, "bytes");

    CHECK_ERROR(pamm_compressed_storage_bytes(100, 12, 0, PAMM_FLOAT32, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_compressed_storage_bytes(100, 12, 101, PAMM_FLOAT32, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_compressed_storage_bytes(0, 12, 1, PAMM_FLOAT32, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "rows");
    CHECK_ERROR(pamm_compressed_storage_bytes(100, 12, 7, (pamm_dtype)9, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "dtype");
    CHECK_ERROR(pamm_compressed_storage_bytes(100, 12, 7, PAMM_FLOAT32, PAMM_FLOAT32, NULL), PAMM_ERROR_INVALID_ARGUMENT, "bytes");
    CHECK_ERROR(pamm_compress_workspace_bytes(100, 0, 7, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "cols");
    CHECK_ERROR(pamm_approx_matmul_workspace_bytes(100, 12, 7, PAMM_FLOAT32, 0, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "grad_cols");
    CHECK_ERROR(pamm_approx_matmul_workspace_bytes(100, 12, 7, PAMM_FLOAT32, 4, (pamm_dtype)3, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "out_dtype");

    /* A plan: sorted keys and rows (b ints each) and the radix histogram, whatever the dtype (the products read C in its
       own); k above 256 sorts in two passes, which add a scratch pair. */
    size_t plan_f32 = 0, plan_bf16 = 0, plan_two_passes = 0;
    CHECK_OK(pamm_product_plan_bytes(4096, 256, 8, PAMM_FLOAT32, &plan_f32));
    CHECK_OK(pamm_product_plan_bytes(4096, 256, 8, PAMM_BFLOAT16, &plan_bf16));
    CHECK_OK(pamm_product_plan_bytes(4096, 256, 300, PAMM_FLOAT32, &plan_two_passes));
    CHECK(plan_f32 >= 4096 * 8 && plan_f32 < 4096 * 8 + 3 * 256 + 256 * 4 * 8 + 256, "plan of 4096 rows, k = 8, f32: %zu bytes", plan_f32);
    CHECK(plan_bf16 == plan_f32, "a bfloat16 plan %zu holds what a float32 plan %zu holds", plan_bf16, plan_f32);
    CHECK(plan_two_passes >= plan_f32 + 4096 * 8, "a two-pass plan %zu holds a scratch pair beyond %zu", plan_two_passes, plan_f32);
    CHECK_ERROR(pamm_product_plan_bytes(100, 12, 101, PAMM_FLOAT32, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_product_plan_bytes(100, 12, 7, (pamm_dtype)9, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "dtype");
    CHECK_ERROR(pamm_product_plan_bytes(100, 12, 7, PAMM_FLOAT32, NULL), PAMM_ERROR_INVALID_ARGUMENT, "bytes");
}

/* pamm_cpu_compress_into: the same result as pamm_cpu_compress, read from the caller's storage, which the
   handle neither owns nor frees. */
static void test_cpu_compress_into(void) {
    enum { ROWS = 300, COLS = 16, GCOLS = 5, K = 9 };
    float *x = clustered_matrix(ROWS, COLS, 6, 0.05f, 31), *g = random_matrix(ROWS, GCOLS, 32);
    float expected[COLS * GCOLS], actual[COLS * GCOLS];
    pamm_options options = options_with_k(K);
    options.seed = 77;
    options.epsilon = 0.05;
    size_t bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &bytes));
    unsigned char *storage = aligned_alloc(64, (bytes + 64) / 64 * 64 + 64);
    memset(storage, 0xA5, bytes);

    pamm_compressed owning = NULL, stored = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &owning));
    CHECK_OK(pamm_cpu_compress_into(x, ROWS, COLS, PAMM_FLOAT32, &options, storage, bytes, &stored));
    CHECK_OK(pamm_cpu_approx_matmul(owning, g, GCOLS, PAMM_FLOAT32, expected, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK_OK(pamm_cpu_approx_matmul(stored, g, GCOLS, PAMM_FLOAT32, actual, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK(memcmp(actual, expected, sizeof actual) == 0, "compress_into differs from compress (max |diff| %g)",
          max_abs_difference(actual, expected, COLS * GCOLS));

    pamm_compressed_info owning_info, stored_info;
    CHECK_OK(pamm_compressed_get_info(owning, &owning_info));
    CHECK_OK(pamm_compressed_get_info(stored, &stored_info));
    CHECK(memcmp(&owning_info, &stored_info, sizeof owning_info) == 0, "info differs: k %d/%d, dropped %d/%d, stored %lld/%lld",
          owning_info.k, stored_info.k, owning_info.dropped_rows, stored_info.dropped_rows,
          (long long)owning_info.stored_bytes, (long long)stored_info.stored_bytes);
    int32_t dropped = -2;
    CHECK_OK(pamm_compressed_read_dropped_rows(stored, &dropped));
    CHECK(dropped == owning_info.dropped_rows && dropped > 0, "read_dropped_rows %d, info %d (epsilon 0.05 drops rows)", dropped, owning_info.dropped_rows);
    int32_t stored_eta;
    memcpy(&stored_eta, storage + bytes - 4, sizeof stored_eta);
    CHECK(stored_eta == dropped, "eta in the storage's last 4 bytes is %d, read %d", stored_eta, dropped);

    /* The handle reads the storage: scaling the generators (at offset 0) by 2 doubles the product. */
    for (int i = 0; i < K * COLS; i++) ((float *)storage)[i] *= 2.0f;
    CHECK_OK(pamm_cpu_approx_matmul(stored, g, GCOLS, PAMM_FLOAT32, actual, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    int doubled = 1;
    for (int i = 0; i < COLS * GCOLS; i++) doubled &= actual[i] == 2.0f * expected[i];
    CHECK(doubled, "the product of a compress_into handle does not follow its storage");

    /* The storage alone, opened again from its shape, is the same compressed activation. */
    pamm_compressed opened = NULL;
    CHECK_OK(pamm_cpu_compressed_open(storage, bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &opened));
    float reopened[COLS * GCOLS];
    CHECK_OK(pamm_cpu_approx_matmul(opened, g, GCOLS, PAMM_FLOAT32, reopened, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0));
    CHECK(memcmp(reopened, actual, sizeof actual) == 0, "the opened storage multiplies differently (max |diff| %g)",
          max_abs_difference(reopened, actual, COLS * GCOLS));
    pamm_compressed_info opened_info;
    CHECK_OK(pamm_compressed_get_info(opened, &opened_info));
    CHECK(opened_info.k == K && opened_info.dropped_rows == dropped && opened_info.stored_bytes == stored_info.stored_bytes,
          "opened info: k %d, dropped %d, stored %lld", opened_info.k, opened_info.dropped_rows, (long long)opened_info.stored_bytes);
    CHECK_OK(pamm_compressed_free(opened));
    pamm_compressed refused = (pamm_compressed)&options;
    CHECK_ERROR(pamm_cpu_compressed_open(storage, bytes - 1, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &refused), PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK(refused == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(pamm_cpu_compressed_open(NULL, bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &refused), PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK_ERROR(pamm_cpu_compressed_open(storage, bytes, ROWS, COLS, ROWS + 1, PAMM_FLOAT32, PAMM_FLOAT32, &refused), PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_cpu_compressed_open(storage, bytes, 0, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &refused), PAMM_ERROR_INVALID_ARGUMENT, "rows");
    CHECK_ERROR(pamm_cpu_compressed_open(storage, bytes, ROWS, COLS, K, (pamm_dtype)9, PAMM_FLOAT32, &refused), PAMM_ERROR_INVALID_ARGUMENT, "dtype");
    CHECK_ERROR(pamm_cpu_compressed_open(storage, bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT16, &refused), PAMM_ERROR_INVALID_ARGUMENT, "alpha_dtype");
    CHECK_ERROR(pamm_cpu_compressed_open(storage, bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, NULL), PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    /* Storage the CPU backend cannot read as one span (2.6 GB of generators) is refused when opened, before it is read:
       the claimed size is never touched. */
    CHECK_ERROR(pamm_cpu_compressed_open(storage, (size_t)1 << 33, 1 << 16, 1 << 14, 40000, PAMM_FLOAT32, PAMM_FLOAT32, &refused),
                PAMM_ERROR_INVALID_ARGUMENT, "keeps at most");
    CHECK(refused == NULL, "the output handle is cleared on failure");

    /* Freeing the handle leaves the storage alone. */
    unsigned char *before = malloc(bytes);
    memcpy(before, storage, bytes);
    CHECK_OK(pamm_compressed_free(stored));
    CHECK(memcmp(before, storage, bytes) == 0, "pamm_compressed_free changed the caller's storage");
    free(before);

    pamm_compressed rejected = (pamm_compressed)&options;
    CHECK_ERROR(pamm_cpu_compress_into(x, ROWS, COLS, PAMM_FLOAT32, &options, storage, bytes - 1, &rejected), PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK(rejected == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(pamm_cpu_compress_into(x, ROWS, COLS, PAMM_FLOAT32, &options, NULL, bytes, &rejected), PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK_ERROR(pamm_cpu_compress_into(x, ROWS, COLS, PAMM_FLOAT32, &options, storage + 4, bytes, &rejected), PAMM_ERROR_INVALID_ARGUMENT, "aligned");
    CHECK_ERROR(pamm_cpu_compress_into(NULL, ROWS, COLS, PAMM_FLOAT32, &options, storage, bytes, &rejected), PAMM_ERROR_INVALID_ARGUMENT, "x");
    CHECK_ERROR(pamm_cpu_compress_into(x, ROWS, COLS, PAMM_FLOAT32, NULL, storage, bytes, &rejected), PAMM_ERROR_INVALID_ARGUMENT, "options");
    CHECK_ERROR(pamm_cpu_compress_into(x, ROWS, COLS, PAMM_FLOAT32, &options, storage, bytes, NULL), PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_ERROR(pamm_compressed_read_dropped_rows(owning, NULL), PAMM_ERROR_INVALID_ARGUMENT, "dropped_rows");
    CHECK_OK(pamm_compressed_free(owning));
    free(storage);
    free(x);
    free(g);
}

/* pamm_compress_into and pamm_approx_matmul_with_workspace check every argument that does not need an engine
   before the engine itself, so these messages hold on a host without CUDA too. */
static void test_compress_into_argument_errors(void) {
    enum { ROWS = 64, COLS = 8, GCOLS = 4, K = 4 };
    float *x = random_matrix(ROWS, COLS, 41), *g = random_matrix(ROWS, GCOLS, 42);
    float out[COLS * GCOLS];
    pamm_options options = options_with_k(K);
    size_t storage_bytes = 0, workspace_bytes = 0, product_bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &storage_bytes));
    CHECK_OK(pamm_compress_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, &workspace_bytes));
    CHECK_OK(pamm_approx_matmul_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, GCOLS, PAMM_FLOAT32, &product_bytes));
    /* Host blocks stand in for device memory: nothing reads them before the engine is checked. */
    unsigned char *storage = aligned_alloc(256, (storage_bytes + 255) / 256 * 256);
    size_t workspace_alloc = workspace_bytes > product_bytes ? workspace_bytes : product_bytes;
    unsigned char *workspace = aligned_alloc(256, (workspace_alloc + 255) / 256 * 256);
    pamm_compressed compressed = (pamm_compressed)&options;

    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes - 1, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK(compressed == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, NULL, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage + 8, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "aligned");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes, workspace, workspace_bytes - 1, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "workspace");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes, NULL, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "workspace");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, NULL, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "options");
    CHECK_ERROR(pamm_compress_into(NULL, NULL, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "x");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes, workspace, workspace_bytes, NULL),
                PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    pamm_options too_many = options_with_k(ROWS + 1);
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &too_many, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "options->k");
    /* Everything right but the engine; NULL and 0 (the engine's own workspace) are accepted. */
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_compress_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, &options, storage, storage_bytes, NULL, 0, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");

    /* The product's workspace is checked against the handle's shapes before the engine is looked up. */
    pamm_compressed host = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &host));
    CHECK_ERROR(pamm_approx_matmul_with_workspace(NULL, host, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0,
                                                  workspace, product_bytes - 1),
                PAMM_ERROR_INVALID_ARGUMENT, "workspace");
    CHECK_ERROR(pamm_approx_matmul_with_workspace(NULL, host, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0,
                                                  NULL, product_bytes),
                PAMM_ERROR_INVALID_ARGUMENT, "workspace");
    CHECK_ERROR(pamm_approx_matmul_with_workspace(NULL, host, NULL, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0,
                                                  workspace, product_bytes),
                PAMM_ERROR_INVALID_ARGUMENT, "grad");
    CHECK_ERROR(pamm_approx_matmul_with_workspace(NULL, host, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0,
                                                  workspace, product_bytes),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_approx_matmul_with_workspace(NULL, NULL, g, GCOLS, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0,
                                                  workspace, product_bytes),
                PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    /* The plan block is checked against the handle's shapes before the engine is looked up. */
    size_t plan_bytes = 0;
    CHECK_OK(pamm_product_plan_bytes(ROWS, COLS, K, PAMM_FLOAT32, &plan_bytes));
    CHECK_ERROR(pamm_compressed_prepare_products(NULL, host, workspace, plan_bytes - 1), PAMM_ERROR_INVALID_ARGUMENT, "plan_bytes");
    CHECK_ERROR(pamm_compressed_prepare_products(NULL, host, NULL, plan_bytes), PAMM_ERROR_INVALID_ARGUMENT, "plan");
    CHECK_ERROR(pamm_compressed_prepare_products(NULL, host, workspace + 8, plan_bytes), PAMM_ERROR_INVALID_ARGUMENT, "aligned");
    CHECK_ERROR(pamm_compressed_prepare_products(NULL, NULL, workspace, plan_bytes), PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_ERROR(pamm_compressed_prepare_products(NULL, host, workspace, plan_bytes), PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_OK(pamm_compressed_free(host));
    /* Opening device storage checks the blocks and shapes before the engine. */
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes - 1, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, NULL, 0, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK(compressed == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes, ROWS, COLS, 0, PAMM_FLOAT32, PAMM_FLOAT32, NULL, 0, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT16, NULL, 0, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "alpha_dtype");
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, workspace, plan_bytes - 1, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "plan_bytes");
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, NULL, plan_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "plan");
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, workspace, plan_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_compressed_open(NULL, storage, storage_bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, NULL, 0, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");

    int64_t references = -1;
    CHECK_OK(pamm_cuda_device_references(0, &references));
    CHECK(references == 0, "no engine exists, yet device 0 has %lld references", (long long)references);
    CHECK_ERROR(pamm_cuda_device_references(0, NULL), PAMM_ERROR_INVALID_ARGUMENT, "count");
    free(storage);
    free(workspace);
    free(x);
    free(g);
}

/* pamm_approx_matmul_batch's sizes and every argument it checks before an engine: what the C arrays hold is named by
   element (grads[1], grad_cols[2]). */
static void test_batch_argument_errors(void) {
    enum { ROWS = 64, COLS = 8, K = 4 };
    float *x = random_matrix(ROWS, COLS, 81), *g = random_matrix(ROWS, 12, 82);
    float outs_host[3][COLS * 12];
    pamm_options options = options_with_k(K);
    int32_t widths[3] = {12, 9, 9};
    size_t one = 0, batch_one = 0, batch = 0, padded = 0, planned = 0, bytes = 0;
    /* A batch of one needs what one product needs; 12 + 9 + 9 columns, the middle one padded to 12, what one of 33. */
    CHECK_OK(pamm_approx_matmul_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 12, PAMM_FLOAT32, &one));
    CHECK_OK(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 1, widths, 0, &batch_one));
    CHECK(batch_one == one, "a batch of one needs %zu bytes, one product %zu", batch_one, one);
    CHECK_OK(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 3, widths, 0, &batch));
    CHECK_OK(pamm_approx_matmul_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 12 + 12 + 9, PAMM_FLOAT32, &padded));
    CHECK(batch == padded, "a batch of 12, 9, 9 columns needs %zu bytes, one product of 33 %zu", batch, padded);
    CHECK_OK(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 3, widths, 1, &planned));
    CHECK(planned < batch, "a planned batch needs %zu bytes, less than %zu", planned, batch);
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 0, widths, 0, &bytes), PAMM_ERROR_INVALID_ARGUMENT,
                "pamm_approx_matmul_batch_workspace_bytes: count");
    /* The header's most products is the library's: that many are taken, one more is refused. */
    int32_t most[PAMM_MAX_BATCHED_PRODUCTS + 1];
    for (int i = 0; i <= PAMM_MAX_BATCHED_PRODUCTS; i++) most[i] = 4;
    CHECK_OK(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_MAX_BATCHED_PRODUCTS, most, 0, &bytes));
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_MAX_BATCHED_PRODUCTS + 1, most, 0, &bytes),
                PAMM_ERROR_INVALID_ARGUMENT, "count");
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 3, NULL, 0, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "grad_cols");
    int32_t zero_width[3] = {12, 9, 0};
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 3, zero_width, 0, &bytes), PAMM_ERROR_INVALID_ARGUMENT,
                "grad_cols[2]");
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 3, widths, 2, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "planned");
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, ROWS + 1, PAMM_FLOAT32, 3, widths, 0, &bytes), PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, 3, widths, 0, NULL), PAMM_ERROR_INVALID_ARGUMENT, "bytes");

    /* Host blocks stand in for device memory: nothing reads them before the engine is checked. */
    unsigned char *workspace = aligned_alloc(256, (batch + 255) / 256 * 256);
    pamm_compressed host = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &host));
    const void *grads[3] = {g, g, g};
    void *outs[3] = {outs_host[0], outs_host[1], outs_host[2]};
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0,
                                         workspace, batch - 1),
                PAMM_ERROR_INVALID_ARGUMENT, "pamm_approx_matmul_batch: workspace");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 0, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0, NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "count");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, NULL, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0, NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "grads");
    const void *missing_grad[3] = {g, NULL, g};
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, missing_grad, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0,
                                         NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "grads[1]");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, zero_width, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0,
                                         NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "grad_cols[2]");
    void *missing_out[3] = {NULL, outs_host[1], outs_host[2]};
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, widths, PAMM_FLOAT32, missing_out, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0,
                                         NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "outs[0]");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, widths, (pamm_dtype)5, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0, NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "grad_dtype");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, (pamm_layout)7, 1, 0, NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "layout");
    /* Everything right but the engine, with a workspace of the size it was told and with the engine's own. */
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0,
                                         workspace, batch),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, host, 3, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0, NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_approx_matmul_batch(NULL, NULL, 3, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT, 1, 0, NULL, 0),
                PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_OK(pamm_compressed_free(host));
    free(workspace);
    free(x);
    free(g);
}

/* On a GPU: the three products of a batch are bit for bit what three pamm_approx_matmul calls write, with gradients of
   different widths (grouped-query attention's K and V narrower than Q), in the engine's workspace and in the caller's. */
static void test_gpu_batched_products(void) {
    enum { ROWS = 700, COLS = 24, K = 13, MQ = 40, MKV = 10, COUNT = 3 };
    cuda_driver cuda;
    if (!open_gpu(&cuda, "pamm_approx_matmul_batch runs")) return;
    const int32_t widths[COUNT] = {MQ, MKV, MKV};
    float *x = clustered_matrix(ROWS, COLS, 8, 0.05f, 91);
    pamm_options options = options_with_k(K);
    options.seed = 17;
    unsigned long long dx = device_copy_of(&cuda, x, (size_t)ROWS * COLS), dg[COUNT] = {0}, batched[COUNT] = {0}, separate[COUNT] = {0};
    float *g[COUNT];
    for (int i = 0; i < COUNT; i++) {
        g[i] = random_matrix(ROWS, widths[i], 92 + (uint64_t)i);
        dg[i] = device_copy_of(&cuda, g[i], (size_t)ROWS * widths[i]);
        CHECK(cuda.mem_alloc(&batched[i], sizeof(float) * COLS * widths[i]) == 0 && cuda.mem_alloc(&separate[i], sizeof(float) * COLS * widths[i]) == 0,
              "cuMemAlloc of the outputs");
    }
    pamm_engine engine = NULL;
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_engine_create(0, NULL, &options, &engine));
    CHECK_OK(pamm_compress_with_options(engine, (const void *)(uintptr_t)dx, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    const void *grads[COUNT];
    void *outs[COUNT];
    for (int i = 0; i < COUNT; i++) {
        grads[i] = (const void *)(uintptr_t)dg[i];
        outs[i] = (void *)(uintptr_t)batched[i];
    }
    size_t workspace_bytes = 0;
    unsigned long long workspace = 0;
    CHECK_OK(pamm_approx_matmul_batch_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, COUNT, widths, 1, &workspace_bytes));
    CHECK(cuda.mem_alloc(&workspace, workspace_bytes) == 0, "cuMemAlloc of the workspace");
    for (int round = 0; round < 2; round++) {
        /* Round 0 in the engine's workspace (the batch builds the handle's plan), round 1 in the caller's planned-size one. */
        CHECK_OK(pamm_approx_matmul_batch(engine, compressed, COUNT, grads, widths, PAMM_FLOAT32, outs, PAMM_FLOAT32, PAMM_GRADIENT_BY_INPUT,
                                          1, 0, round == 0 ? NULL : (void *)(uintptr_t)workspace, round == 0 ? 0 : workspace_bytes));
        for (int i = 0; i < COUNT; i++) {
            float expected[COLS * MQ], actual[COLS * MQ];
            size_t count = (size_t)COLS * widths[i];
            CHECK_OK(pamm_approx_matmul(engine, compressed, grads[i], widths[i], PAMM_FLOAT32, (void *)(uintptr_t)separate[i], PAMM_FLOAT32,
                                        PAMM_GRADIENT_BY_INPUT, 1, 0));
            CHECK(cuda.ctx_synchronize() == 0 && cuda.memcpy_dtoh(expected, separate[i], sizeof(float) * count) == 0 &&
                  cuda.memcpy_dtoh(actual, batched[i], sizeof(float) * count) == 0, "reading product %d", i);
            CHECK(memcmp(actual, expected, sizeof(float) * count) == 0, "round %d: batched product %d differs from its own (max |diff| %g)",
                  round, i, max_abs_difference(actual, expected, count));
        }
    }
    CHECK_OK(pamm_compressed_free(compressed));
    CHECK_OK(pamm_engine_destroy(engine));
    for (int i = 0; i < COUNT; i++) {
        cuda.mem_free(dg[i]);
        cuda.mem_free(batched[i]);
        cuda.mem_free(separate[i]);
        free(g[i]);
    }
    cuda.mem_free(workspace);
    cuda.mem_free(dx);
    close_gpu(&cuda);
    free(x);
}

/* On a GPU: compress_into caller storage and workspace gives bit for bit what the engine's own memory gives; the
   handle does not own its storage (the test frees it itself); info does not wait, reading eta does; two engines
   share one device; a compress_into handle serves another engine of the device. */
static void test_gpu_compress_into(void) {
    enum { ROWS = 512, COLS = 32, GCOLS = 8, K = 16 };
    cuda_driver cuda;
    if (!open_gpu(&cuda, "pamm_compress_into runs")) return;
    float *x = clustered_matrix(ROWS, COLS, 8, 0.05f, 51), *g = random_matrix(ROWS, GCOLS, 52);
    pamm_options options = options_with_k(K);
    options.seed = 99;
    options.epsilon = 0.1;
    unsigned long long dx = device_copy_of(&cuda, x, (size_t)ROWS * COLS), dg = device_copy_of(&cuda, g, (size_t)ROWS * GCOLS);
    size_t storage_bytes = 0, compress_bytes = 0, product_bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &storage_bytes));
    CHECK_OK(pamm_compress_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, &compress_bytes));
    CHECK_OK(pamm_approx_matmul_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, GCOLS, PAMM_FLOAT32, &product_bytes));
    unsigned long long storage = 0, workspace = 0, dout = 0;
    size_t workspace_bytes = compress_bytes > product_bytes ? compress_bytes : product_bytes;
    CHECK(cuda.mem_alloc(&storage, storage_bytes) == 0 && cuda.mem_alloc(&workspace, workspace_bytes) == 0 &&
          cuda.mem_alloc(&dout, sizeof(float) * COLS * GCOLS) == 0, "cuMemAlloc of storage, workspace and product");

    int64_t references_before = -1, references = -1;
    CHECK_OK(pamm_cuda_device_references(0, &references_before));
    pamm_engine first = NULL, second = NULL;
    CHECK_OK(pamm_engine_create(0, NULL, &options, &first));
    CHECK_OK(pamm_engine_create(0, NULL, &options, &second));
    CHECK_OK(pamm_cuda_device_references(0, &references));
    CHECK(references == references_before + 2, "two engines on device 0: %lld references, before %lld", (long long)references,
          (long long)references_before);

    pamm_compressed own = NULL, into = NULL;
    const void *device_x = (const void *)(uintptr_t)dx;
    CHECK_OK(pamm_compress_with_options(first, device_x, ROWS, COLS, PAMM_FLOAT32, &options, &own));
    CHECK_OK(pamm_compress_into(first, device_x, ROWS, COLS, PAMM_FLOAT32, &options, (void *)(uintptr_t)storage, storage_bytes,
                                (void *)(uintptr_t)workspace, workspace_bytes, &into));
    pamm_compressed_info info;
    CHECK_OK(pamm_compressed_get_info(into, &info));
    CHECK(info.dropped_rows == -1 && info.k == K && info.on_gpu == 1, "info before reading eta: dropped %d, k %d", info.dropped_rows, info.k);
    int32_t own_dropped = -2, into_dropped = -2;
    CHECK_OK(pamm_compressed_read_dropped_rows(own, &own_dropped));
    CHECK_OK(pamm_compressed_read_dropped_rows(into, &into_dropped));
    CHECK(into_dropped == own_dropped && into_dropped >= 0, "eta %d in caller storage, %d in the engine's", into_dropped, own_dropped);
    CHECK_OK(pamm_compressed_get_info(into, &info));
    CHECK(info.dropped_rows == into_dropped, "info after reading eta: %d, read %d", info.dropped_rows, into_dropped);

    float expected[COLS * GCOLS], actual[COLS * GCOLS];
    gpu_product(&cuda, first, own, dg, GCOLS, dout, expected, COLS * GCOLS);
    CHECK_OK(pamm_approx_matmul_with_workspace(first, into, (const void *)(uintptr_t)dg, GCOLS, PAMM_FLOAT32, (void *)(uintptr_t)dout,
                                               PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0, (void *)(uintptr_t)workspace, workspace_bytes));
    CHECK(cuda.ctx_synchronize() == 0 && cuda.memcpy_dtoh(actual, dout, sizeof actual) == 0, "the workspace product");
    CHECK(memcmp(actual, expected, sizeof actual) == 0, "compress_into + workspace differs from the engine's memory (max |diff| %g)",
          max_abs_difference(actual, expected, COLS * GCOLS));
    /* Caller storage may be read by another engine of the device; the engine's own storage may not. */
    gpu_product(&cuda, second, into, dg, GCOLS, dout, actual, COLS * GCOLS);
    CHECK(memcmp(actual, expected, sizeof actual) == 0, "another engine's product of the compress_into handle differs");
    CHECK_ERROR(pamm_approx_matmul(second, own, (const void *)(uintptr_t)dg, GCOLS, PAMM_FLOAT32, (void *)(uintptr_t)dout, PAMM_FLOAT32,
                                   PAMM_INPUT_BY_GRADIENT, 1, 0),
                PAMM_ERROR_INVALID_HANDLE, "another engine");

    /* A plan in caller memory: the products after it reuse the grouping, bit for bit the same product; a second plan for
       the same handle is refused. */
    size_t plan_bytes = 0;
    unsigned long long plan = 0;
    CHECK_OK(pamm_product_plan_bytes(ROWS, COLS, K, PAMM_FLOAT32, &plan_bytes));
    CHECK(cuda.mem_alloc(&plan, plan_bytes) == 0, "cuMemAlloc of the plan");
    CHECK_OK(pamm_compressed_prepare_products(first, into, (void *)(uintptr_t)plan, plan_bytes));
    for (int product = 0; product < 2; product++) {
        gpu_product(&cuda, first, into, dg, GCOLS, dout, actual, COLS * GCOLS);
        CHECK(memcmp(actual, expected, sizeof actual) == 0, "product %d with a caller plan differs", product);
    }
    CHECK_ERROR(pamm_compressed_prepare_products(first, into, (void *)(uintptr_t)plan, plan_bytes), PAMM_ERROR_INVALID_ARGUMENT,
                "already has a product plan");
    /* The storage and its plan, opened again from their shape alone (what a compiled graph keeps), by the other engine. */
    pamm_compressed opened = NULL;
    CHECK_OK(pamm_compressed_open(second, (void *)(uintptr_t)storage, storage_bytes, ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32,
                                  (void *)(uintptr_t)plan, plan_bytes, &opened));
    gpu_product(&cuda, second, opened, dg, GCOLS, dout, actual, COLS * GCOLS);
    CHECK(memcmp(actual, expected, sizeof actual) == 0, "the opened storage and plan multiply differently");
    CHECK_OK(pamm_compressed_free(opened));

    CHECK_OK(pamm_compressed_free(into));
    CHECK_OK(pamm_compressed_free(own));
    CHECK_OK(pamm_engine_destroy(first));
    CHECK_OK(pamm_engine_destroy(second));
    CHECK_OK(pamm_cuda_device_references(0, &references));
    CHECK(references == references_before, "after destroying both engines: %lld references", (long long)references);
    /* The handle never owned the storage: it is still ours to free. */
    CHECK(cuda.mem_free(storage) == 0, "cuMemFree of the caller's storage after pamm_compressed_free");
    cuda.mem_free(plan);
    cuda.mem_free(workspace);
    cuda.mem_free(dx);
    cuda.mem_free(dg);
    cuda.mem_free(dout);
    close_gpu(&cuda);
    free(x);
    free(g);
}

/* The library's CUDA calls leave the calling thread's current context as they found it: a framework keeps its current
   device there (PyTorch's torch.cuda.current_device() is the current context's), so a call on a tensor of another GPU
   must not move the caller's next allocation. Called with no context current, every call leaves none current, and
   its work still runs in the device's primary context (the product equals one made with that context current). */
static void test_gpu_leaves_callers_context(void) {
    enum { ROWS = 256, COLS = 16, GCOLS = 8, K = 8 };
    cuda_driver cuda;
    if (!open_gpu(&cuda, "the caller's current context is checked")) return;
    float *x = random_matrix(ROWS, COLS, 61), *g = random_matrix(ROWS, GCOLS, 62);
    pamm_options options = options_with_k(K);
    void *current = NULL;
    unsigned long long dx = device_copy_of(&cuda, x, (size_t)ROWS * COLS), dg = device_copy_of(&cuda, g, (size_t)ROWS * GCOLS);
    size_t storage_bytes = 0, compress_bytes = 0, product_bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &storage_bytes));
    CHECK_OK(pamm_compress_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, &compress_bytes));
    CHECK_OK(pamm_approx_matmul_workspace_bytes(ROWS, COLS, K, PAMM_FLOAT32, GCOLS, PAMM_FLOAT32, &product_bytes));
    size_t workspace_bytes = compress_bytes > product_bytes ? compress_bytes : product_bytes;
    unsigned long long storage = 0, workspace = 0, dout = 0;
    CHECK(cuda.mem_alloc(&storage, storage_bytes) == 0 && cuda.mem_alloc(&workspace, workspace_bytes) == 0 &&
          cuda.mem_alloc(&dout, sizeof(float) * COLS * GCOLS) == 0, "cuMemAlloc of storage, workspace and product");
    const void *device_x = (const void *)(uintptr_t)dx;

    /* The reference, with the device's context current as a framework has it: the library must leave it current. */
    float expected[COLS * GCOLS], actual[COLS * GCOLS];
    pamm_engine engine = NULL;
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_engine_create(0, NULL, &options, &engine));
    CHECK_OK(pamm_compress_with_options(engine, device_x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    gpu_product(&cuda, engine, compressed, dg, GCOLS, dout, expected, COLS * GCOLS);
    CHECK(cuda.ctx_get_current(&current) == 0 && current == cuda.context, "after calls with the primary context current, %p is", current);
    CHECK_OK(pamm_compressed_free(compressed));
    CHECK_OK(pamm_engine_destroy(engine));

    /* No context current: after each call, still none. */
#define EXPECT_NO_CONTEXT(call)                                                                                        \
    do {                                                                                                               \
        CHECK_OK(call);                                                                                                \
        CHECK(cuda.ctx_get_current(&current) == 0 && current == NULL, "%s left context %p current", #call, current);   \
    } while (0)
    CHECK(cuda.ctx_set_current(NULL) == 0, "cuCtxSetCurrent(NULL)");
    int32_t dropped = -1;
    EXPECT_NO_CONTEXT(pamm_engine_create(0, NULL, &options, &engine));
    EXPECT_NO_CONTEXT(pamm_compress_into(engine, device_x, ROWS, COLS, PAMM_FLOAT32, &options, (void *)(uintptr_t)storage,
                                         storage_bytes, (void *)(uintptr_t)workspace, workspace_bytes, &compressed));
    EXPECT_NO_CONTEXT(pamm_approx_matmul_with_workspace(engine, compressed, (const void *)(uintptr_t)dg, GCOLS, PAMM_FLOAT32,
                                                        (void *)(uintptr_t)dout, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0,
                                                        (void *)(uintptr_t)workspace, workspace_bytes));
    EXPECT_NO_CONTEXT(pamm_compressed_read_dropped_rows(compressed, &dropped));
    EXPECT_NO_CONTEXT(pamm_compressed_free(compressed));
    EXPECT_NO_CONTEXT(pamm_engine_destroy(engine));
#undef EXPECT_NO_CONTEXT
    CHECK(cuda.ctx_set_current(cuda.context) == 0 && cuda.ctx_synchronize() == 0 && cuda.memcpy_dtoh(actual, dout, sizeof actual) == 0,
          "the product made with no context current");
    CHECK(memcmp(actual, expected, sizeof actual) == 0, "the product made with no context current differs (max |diff| %g)",
          max_abs_difference(actual, expected, COLS * GCOLS));

    cuda.mem_free(storage);
    cuda.mem_free(workspace);
    cuda.mem_free(dx);
    cuda.mem_free(dg);
    cuda.mem_free(dout);
    close_gpu(&cuda);
    free(x);
    free(g);
}

/* pamm_project_and_compress_into checks every argument that needs no engine before the engine, so these
   messages hold on a host without CUDA too; its size function is arithmetic. */
static void test_project_and_compress_argument_errors(void) {
    enum { ROWS = 64, COLS = 8, M = 12, K = 4 };
    float *x = random_matrix(ROWS, COLS, 61);
    float weight[(M + K) * COLS], projection[ROWS * M];
    pamm_options options = options_with_k(K);
    size_t storage_bytes = 0, workspace_bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &storage_bytes));
    CHECK_OK(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, M, &workspace_bytes));
    CHECK(workspace_bytes >= sizeof(float) * ROWS * (M + K), "the workspace holds the float32 GEMM output: %zu bytes", workspace_bytes);
    CHECK_ERROR(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, 0, &workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "projection_cols");
    CHECK_ERROR(pamm_project_and_compress_workspace_bytes(ROWS, COLS, ROWS + 1, M, &workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "k");
    CHECK_ERROR(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, M, NULL), PAMM_ERROR_INVALID_ARGUMENT, "bytes");
    CHECK_ERROR(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, INT32_MAX - 1, &workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT,
                "projection_cols");
    CHECK_OK(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, M, &workspace_bytes));
    /* Host blocks stand in for device memory: nothing reads them before the engine is checked. */
    unsigned char *storage = aligned_alloc(256, (storage_bytes + 255) / 256 * 256);
    unsigned char *workspace = aligned_alloc(256, (workspace_bytes + 255) / 256 * 256);
    pamm_compressed compressed = (pamm_compressed)&options;

#define PROJECT(x_, w_, m_, y_, opts_, st_, stb_, ws_, wsb_, out_) \
    pamm_project_and_compress_into(NULL, x_, ROWS, COLS, PAMM_FLOAT32, w_, m_, y_, opts_, st_, stb_, ws_, wsb_, out_)
    CHECK_ERROR(PROJECT(x, weight, M, projection, &options, storage, storage_bytes, workspace, workspace_bytes, NULL),
                PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_ERROR(PROJECT(NULL, weight, M, projection, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "x");
    CHECK(compressed == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(PROJECT(x, NULL, M, projection, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "stacked_weight");
    CHECK_ERROR(PROJECT(x, weight, 0, projection, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "projection_cols");
    CHECK_ERROR(PROJECT(x, weight, M, NULL, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "projection");
    CHECK_ERROR(PROJECT(x, weight, M, projection, NULL, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "options");
    CHECK_ERROR(PROJECT(x, weight, M, projection, &options, storage, storage_bytes - 1, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK_ERROR(PROJECT(x, weight, M, projection, &options, storage, storage_bytes, workspace, workspace_bytes - 1, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "workspace");
    pamm_options too_many = options_with_k(ROWS + 1);
    CHECK_ERROR(PROJECT(x, weight, M, projection, &too_many, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "options->k");
    /* Everything right but the engine; NULL and 0 (the engine's own workspace) are accepted. */
    CHECK_ERROR(PROJECT(x, weight, M, projection, &options, storage, storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(PROJECT(x, weight, M, projection, &options, storage, storage_bytes, NULL, 0, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "engine");
#undef PROJECT
    free(storage);
    free(workspace);
    free(x);
}

/* pamm_project_and_compress_split_into checks its outputs, and then everything pamm_project_and_compress_into checks,
   before the engine. */
static void test_split_projection_argument_errors(void) {
    enum { ROWS = 64, COLS = 8, K = 4 };
    float *x = random_matrix(ROWS, COLS, 62);
    float weight[(12 + K) * COLS], q[ROWS * 4], k[ROWS * 4], v[ROWS * 4];
    int32_t cols[3] = { 4, 4, 4 }, zero_middle[3] = { 4, 0, 4 };
    void *outputs[3] = { q, k, v }, *missing_last[3] = { q, k, NULL };
    pamm_options options = options_with_k(K);
    size_t storage_bytes = 0, workspace_bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &storage_bytes));
    CHECK_OK(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, 12, &workspace_bytes));
    unsigned char *storage = aligned_alloc(256, (storage_bytes + 255) / 256 * 256);
    unsigned char *workspace = aligned_alloc(256, (workspace_bytes + 255) / 256 * 256);
    pamm_compressed compressed = (pamm_compressed)&options;

#define SPLIT(n_, cols_, outs_, stb_, wsb_) \
    pamm_project_and_compress_split_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, weight, n_, cols_, outs_, &options, storage, stb_, workspace, wsb_, &compressed)
    CHECK_ERROR(SPLIT(0, cols, outputs, storage_bytes, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "outputs");
    CHECK(compressed == NULL, "the output handle is cleared on failure");
    CHECK_ERROR(SPLIT(3, NULL, outputs, storage_bytes, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "output_cols");
    CHECK_ERROR(SPLIT(3, cols, NULL, storage_bytes, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "projections");
    CHECK_ERROR(SPLIT(3, zero_middle, outputs, storage_bytes, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "output_cols[1]");
    CHECK_ERROR(SPLIT(3, cols, missing_last, storage_bytes, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "projections[2]");
    /* The workspace is sized for the outputs' columns together (12): one output's 4 is not what it is checked against. */
    size_t for_one_output = 0;
    CHECK_OK(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, 4, &for_one_output));
    CHECK_ERROR(SPLIT(3, cols, outputs, storage_bytes, for_one_output), PAMM_ERROR_INVALID_ARGUMENT, "workspace");
    CHECK_ERROR(SPLIT(3, cols, outputs, storage_bytes - 1, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "storage");
    CHECK_ERROR(SPLIT(3, cols, outputs, storage_bytes, workspace_bytes), PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_project_and_compress_split_into(NULL, x, ROWS, COLS, PAMM_FLOAT32, weight, 3, cols, outputs, NULL, storage,
                                                     storage_bytes, workspace, workspace_bytes, &compressed),
                PAMM_ERROR_INVALID_ARGUMENT, "options");
#undef SPLIT
    free(storage);
    free(workspace);
    free(x);
}

/* On a GPU: the projection equals x W^T and the compressed form gives the product pamm_compress_into's gives
   (the same eta; f and alpha may differ at near-ties and in rounding, so the products agree within tolerance). */
static void test_gpu_project_and_compress(void) {
    enum { ROWS = 777, COLS = 40, M = 96, K = 19, GCOLS = 8 };
    cuda_driver cuda;
    if (!open_gpu(&cuda, "pamm_project_and_compress_into runs")) return;
    float *x = clustered_matrix(ROWS, COLS, 8, 0.05f, 71), *w = random_matrix(M + K, COLS, 72), *g = random_matrix(ROWS, GCOLS, 73);
    pamm_options options = options_with_k(K);
    options.seed = 5;
    unsigned long long dx = device_copy_of(&cuda, x, (size_t)ROWS * COLS), dw = device_copy_of(&cuda, w, (size_t)(M + K) * COLS),
                       dg = device_copy_of(&cuda, g, (size_t)ROWS * GCOLS);
    size_t storage_bytes = 0, workspace_bytes = 0;
    CHECK_OK(pamm_compressed_storage_bytes(ROWS, COLS, K, PAMM_FLOAT32, PAMM_FLOAT32, &storage_bytes));
    CHECK_OK(pamm_project_and_compress_workspace_bytes(ROWS, COLS, K, M, &workspace_bytes));
    unsigned long long fused_storage = 0, plain_storage = 0, workspace = 0, dy = 0, dout = 0;
    CHECK(cuda.mem_alloc(&fused_storage, storage_bytes) == 0 && cuda.mem_alloc(&plain_storage, storage_bytes) == 0 &&
          cuda.mem_alloc(&workspace, workspace_bytes) == 0 && cuda.mem_alloc(&dy, sizeof(float) * ROWS * M) == 0 &&
          cuda.mem_alloc(&dout, sizeof(float) * COLS * GCOLS) == 0, "cuMemAlloc of storage, workspace, projection and product");
    pamm_engine engine = NULL;
    CHECK_OK(pamm_engine_create(0, NULL, &options, &engine));
    pamm_compressed fused = NULL, plain = NULL;
    CHECK_OK(pamm_project_and_compress_into(engine, (const void *)(uintptr_t)dx, ROWS, COLS, PAMM_FLOAT32, (void *)(uintptr_t)dw, M,
                                            (void *)(uintptr_t)dy, &options, (void *)(uintptr_t)fused_storage, storage_bytes,
                                            (void *)(uintptr_t)workspace, workspace_bytes, &fused));
    CHECK_OK(pamm_compress_into(engine, (const void *)(uintptr_t)dx, ROWS, COLS, PAMM_FLOAT32, &options, (void *)(uintptr_t)plain_storage,
                                storage_bytes, NULL, 0, &plain));
    int32_t fused_dropped = -2, plain_dropped = -2;
    CHECK_OK(pamm_compressed_read_dropped_rows(fused, &fused_dropped));
    CHECK_OK(pamm_compressed_read_dropped_rows(plain, &plain_dropped));
    CHECK(fused_dropped == plain_dropped, "eta %d fused, %d from pamm_compress_into", fused_dropped, plain_dropped);

    float *y = malloc(sizeof(float) * ROWS * M);
    CHECK(cuda.ctx_synchronize() == 0 && cuda.memcpy_dtoh(y, dy, sizeof(float) * ROWS * M) == 0, "the projection");
    double worst = 0;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < M; j++) {
            double exact = 0, magnitude = 0;
            for (int q = 0; q < COLS; q++) {
                exact += (double)x[i * COLS + q] * w[j * COLS + q];
                magnitude += fabs((double)x[i * COLS + q] * w[j * COLS + q]);
            }
            double error = fabs(y[i * M + j] - exact) / (magnitude + 1e-30);
            if (error > worst) worst = error;
        }
    CHECK(worst <= COLS * 6e-8, "projection error %g of the magnitude", worst);

    /* Split into three outputs of 40, 40 and 16 columns: each is its column range of y, and the compression is the same
       bytes (same seed, same GEMM). */
    enum { SPLIT_A = 40, SPLIT_B = 40 };
    int32_t split_cols[3] = { SPLIT_A, SPLIT_B, M - SPLIT_A - SPLIT_B };
    unsigned long long parts[3] = { 0, 0, 0 }, split_storage = 0;
    for (int i = 0; i < 3; i++) CHECK(cuda.mem_alloc(&parts[i], sizeof(float) * ROWS * split_cols[i]) == 0, "cuMemAlloc of output %d", i);
    CHECK(cuda.mem_alloc(&split_storage, storage_bytes) == 0, "cuMemAlloc of the split compression's storage");
    void *split_outputs[3] = { (void *)(uintptr_t)parts[0], (void *)(uintptr_t)parts[1], (void *)(uintptr_t)parts[2] };
    pamm_compressed split = NULL;
    CHECK_OK(pamm_project_and_compress_split_into(engine, (const void *)(uintptr_t)dx, ROWS, COLS, PAMM_FLOAT32, (void *)(uintptr_t)dw, 3,
                                                  split_cols, split_outputs, &options, (void *)(uintptr_t)split_storage, storage_bytes,
                                                  (void *)(uintptr_t)workspace, workspace_bytes, &split));
    CHECK(cuda.ctx_synchronize() == 0, "the split projection ran");
    int first_column = 0, split_matches = 1;
    for (int part = 0; part < 3; part++) {
        float *values = malloc(sizeof(float) * ROWS * split_cols[part]);
        CHECK(cuda.memcpy_dtoh(values, parts[part], sizeof(float) * ROWS * split_cols[part]) == 0, "output %d", part);
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < split_cols[part]; j++) split_matches &= values[i * split_cols[part] + j] == y[i * M + first_column + j];
        first_column += split_cols[part];
        free(values);
    }
    CHECK(split_matches, "the split outputs are not the column ranges of the one output");
    unsigned char *fused_bytes = malloc(storage_bytes), *split_bytes = malloc(storage_bytes);
    CHECK(cuda.memcpy_dtoh(fused_bytes, fused_storage, storage_bytes) == 0 && cuda.memcpy_dtoh(split_bytes, split_storage, storage_bytes) == 0,
          "both storages");
    CHECK(memcmp(fused_bytes, split_bytes, storage_bytes) == 0, "the split projection's compressed form differs from the one output's");
    CHECK_OK(pamm_compressed_free(split));
    for (int i = 0; i < 3; i++) cuda.mem_free(parts[i]);
    cuda.mem_free(split_storage);
    free(fused_bytes);
    free(split_bytes);

    float expected[COLS * GCOLS], actual[COLS * GCOLS];
    gpu_product(&cuda, engine, plain, dg, GCOLS, dout, expected, COLS * GCOLS);
    gpu_product(&cuda, engine, fused, dg, GCOLS, dout, actual, COLS * GCOLS);
    double scale = 0;
    for (int i = 0; i < COLS * GCOLS; i++) scale = fmax(scale, fabs(expected[i]));
    CHECK(max_abs_difference(actual, expected, COLS * GCOLS) <= 1e-3 * scale, "the fused compression's product differs by %g (scale %g)",
          max_abs_difference(actual, expected, COLS * GCOLS), scale);
    CHECK_OK(pamm_compressed_free(fused));
    CHECK_OK(pamm_compressed_free(plain));
    CHECK_OK(pamm_engine_destroy(engine));
    unsigned long long blocks[] = { fused_storage, plain_storage, workspace, dy, dout, dx, dw, dg };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) cuda.mem_free(blocks[i]);
    close_gpu(&cuda);
    free(y);
    free(x);
    free(w);
    free(g);
}

static void test_handle_errors(void) {
    enum { ROWS = 6, COLS = 3 };
    float *x = random_matrix(ROWS, COLS, 13), *g = random_matrix(ROWS, 2, 14);
    float out[COLS * 2];
    pamm_options options = options_with_k(2);
    pamm_compressed_info info;
    int64_t before = -1, after = -1;
    CHECK_OK(pamm_live_handle_count(&before));
    pamm_compressed compressed = NULL;
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK_OK(pamm_live_handle_count(&after));
    CHECK(after == before + 1, "live handles %lld -> %lld after compress", (long long)before, (long long)after);
    CHECK_OK(pamm_compressed_free(compressed));
    CHECK_OK(pamm_live_handle_count(&after));
    CHECK(after == before, "live handles %lld -> %lld after free", (long long)before, (long long)after);

    int64_t compressed_before = -1, compressed_after = -1;
    CHECK_OK(pamm_live_compressed_count(&compressed_before));
    CHECK_OK(pamm_cpu_compress(x, ROWS, COLS, PAMM_FLOAT32, &options, &compressed));
    CHECK_OK(pamm_live_compressed_count(&compressed_after));
    CHECK(compressed_after == compressed_before + 1, "live compressed %lld -> %lld after compress", (long long)compressed_before, (long long)compressed_after);
    CHECK_OK(pamm_compressed_free(compressed));
    CHECK_OK(pamm_live_compressed_count(&compressed_after));
    CHECK(compressed_after == compressed_before, "live compressed %lld -> %lld after free", (long long)compressed_before, (long long)compressed_after);

    CHECK_ERROR(pamm_compressed_free(compressed), PAMM_ERROR_INVALID_HANDLE, "freed already");
    CHECK_ERROR(pamm_compressed_get_info(compressed, &info), PAMM_ERROR_INVALID_HANDLE, "compressed");
    CHECK_ERROR(pamm_cpu_approx_matmul(compressed, g, 2, PAMM_FLOAT32, out, PAMM_FLOAT32, PAMM_INPUT_BY_GRADIENT, 1, 0), PAMM_ERROR_INVALID_HANDLE, "compressed");
    CHECK_ERROR(pamm_compressed_free((pamm_compressed)(uintptr_t)0x1234), PAMM_ERROR_INVALID_HANDLE, "never created");
    CHECK_ERROR(pamm_compressed_free(NULL), PAMM_ERROR_INVALID_ARGUMENT, "compressed");
    CHECK_ERROR(pamm_engine_destroy(NULL), PAMM_ERROR_INVALID_ARGUMENT, "engine");
    CHECK_ERROR(pamm_live_handle_count(NULL), PAMM_ERROR_INVALID_ARGUMENT, "count");
    CHECK_ERROR(pamm_live_compressed_count(NULL), PAMM_ERROR_INVALID_ARGUMENT, "count");
    free(x);
    free(g);
}

int main(void) {
    test_version_and_names();
    test_cpu_vector_bits();
    test_options_init();
    test_cuda_queries();
    test_full_ratio_is_exact();
    test_info_reports_stored_bytes();
    test_approximation_error();
    test_determinism();
    test_bfloat16();
    test_refine_generators();
    test_argument_errors();
    test_compress_with_options();
    test_sizes();
    test_cpu_compress_into();
    test_compress_into_argument_errors();
    test_batch_argument_errors();
    test_gpu_compress_into();
    test_gpu_batched_products();
    test_gpu_leaves_callers_context();
    test_project_and_compress_argument_errors();
    test_split_projection_argument_errors();
    test_gpu_project_and_compress();
    test_handle_errors();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
