// pamm_emu_runtime.cpp: runs a kernel grid for the emulated device with CUDA's block and warp semantics.
//
// Blocks are shared out to a few OS threads. Within a block every CUDA thread is a fiber (ucontext)
// with its own stack; the block's OS thread runs the fibers round-robin, each until it reaches a
// barrier or a warp collective or returns. When no fiber can run, the scheduler completes the warp
// collectives whose lanes have all arrived, then releases __syncthreads once every live thread waits at
// it; when neither can happen the block is deadlocked, and that is reported as an error instead of a hang.
//
// The order of the turns in a round is the launch's execution_order: ascending thread index, descending, or
// a fresh permutation every round. A kernel free of shared-memory races writes the same bits in every
// order; one that reads what another thread of its block writes without a barrier or warp collective
// between them (a missing __syncthreads, or a warp assumed to run in lockstep) reads it in one order
// and misses it in another, so running the same work under two orders and comparing is a race check.
// The same order hands out the blocks (descending, or a permutation of the grid), so that a result that
// depends on which blocks run first (an atomically built list, a "last block" taken to be the highest)
// shows too.
#include "pamm_emu.h"

// The runtime is ordinary C++: libstdc++ spells __attribute__((__noinline__)), which the CUDA macro breaks.
#undef __noinline__

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

__thread pamm_emu_thread_state* pamm_emu_current = nullptr;

namespace {

constexpr int kMaxThreadsPerBlock = 1024;
constexpr int kWarpSize = 32;

// pamm_emu_launch_config::execution_order (EmulatedExecutionOrder in C#).
enum ExecutionOrder { kAscending = 0, kDescending = 1, kShuffled = 2 };
// Kernels keep their locals in registers on a GPU; 128 KiB of fiber stack leaves room for -O2 frames,
// and only the pages a fiber touches are ever committed.
constexpr std::size_t kStackBytes = 128 * 1024;
constexpr std::size_t kSharedAlignment = 256;

#if defined(__x86_64__)
// A fiber switch saves only the callee-saved registers and the FP control words: glibc's swapcontext also
// saves the signal mask with a system call, which dominates when every thread of a block switches at each barrier.
struct FiberContext {
    void* stack_pointer;
};

extern "C" void pamm_emu_switch_stack(void** save, void* load);
asm(R"(
    .text
    .globl pamm_emu_switch_stack
    .hidden pamm_emu_switch_stack
    .type pamm_emu_switch_stack, @function
pamm_emu_switch_stack:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size pamm_emu_switch_stack, .-pamm_emu_switch_stack
)");

// Lays out the stack as pamm_emu_switch_stack leaves it, so that the first switch "returns" into entry
// with the stack aligned as after a call; the zero return address ends debugger backtraces there.
bool make_fiber_context(FiberContext& context, void* stack, std::size_t bytes, void (*entry)())
{
    auto top = reinterpret_cast<std::uintptr_t>(stack) + bytes;
    auto* slot = reinterpret_cast<std::uint64_t*>(top & ~static_cast<std::uintptr_t>(15));
    *--slot = 0;
    *--slot = reinterpret_cast<std::uint64_t>(entry);
    for (int callee_saved = 0; callee_saved < 6; callee_saved++) *--slot = 0;
    *--slot = 0x037full << 32 | 0x1f80u; // default MXCSR and x87 control word
    context.stack_pointer = slot;
    return true;
}

void switch_context(FiberContext& from, FiberContext& to)
{
    pamm_emu_switch_stack(&from.stack_pointer, to.stack_pointer);
}
#else
struct FiberContext {
    ucontext_t context;
};

bool make_fiber_context(FiberContext& context, void* stack, std::size_t bytes, void (*entry)())
{
    if (getcontext(&context.context) != 0) return false;
    context.context.uc_stack.ss_sp = stack;
    context.context.uc_stack.ss_size = bytes;
    context.context.uc_link = nullptr;
    makecontext(&context.context, entry, 0);
    return true;
}

void switch_context(FiberContext& from, FiberContext& to)
{
    swapcontext(&from.context, &to.context);
}
#endif

enum class FiberStatus { Runnable, AtBlockBarrier, AtWarpCollective, Exited };

struct Fiber {
    pamm_emu_thread_state state;
    FiberContext context;
    void* stack;
    FiberStatus status;
    const char* site;
    pamm_emu_warp_op op;
    unsigned int mask;
    unsigned long long value;
    int lane_argument;
    int width;
    unsigned long long result;
};

struct Grid {
    const pamm_emu_launch_config* config;
    const char* kernel;
    void (*body)(void**);
    void** args;
    unsigned long long block_count;
    std::atomic<unsigned long long> next_block{0};
    // The shuffled order's blocks: ticket t runs block (stride·t + offset) mod block_count, stride prime to it.
    unsigned long long stride = 1, offset = 0;
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::string error;
};

// The resources of one OS thread that runs blocks: fiber slots (stacks made on first use and kept for
// later launches) and the block's dynamic shared memory.
struct Worker {
    std::unique_ptr<Fiber[]> fibers{new Fiber[kMaxThreadsPerBlock]()};
    // The thread indices in the order of this round's turns.
    std::unique_ptr<int[]> turns{new int[kMaxThreadsPerBlock]()};
    std::size_t page_bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* dynamic_shared = nullptr;
    std::size_t dynamic_shared_capacity = 0;
    FiberContext scheduler;
    Fiber* running = nullptr;
    // The OS thread running blocks now, while `active`: how the fault handler knows a worker thread.
    pthread_t os_thread{};
    std::atomic<bool> active{false};
    // Where the fault handler runs: a fiber that overflowed its stack has none left.
    std::unique_ptr<char[]> signal_stack;
    const Grid* grid = nullptr;
    char error[1024];
    bool failed = false;
};

__thread Worker* current_worker = nullptr;
std::mutex launch_mutex;
std::vector<std::unique_ptr<Worker>> worker_pool;
thread_local std::string last_error;

const char* base_name(const char* path)
{
    const char* slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const char* op_name(pamm_emu_warp_op op)
{
    switch (op) {
    case PAMM_EMU_SHFL_IDX: return "__shfl_sync";
    case PAMM_EMU_SHFL_UP: return "__shfl_up_sync";
    case PAMM_EMU_SHFL_DOWN: return "__shfl_down_sync";
    case PAMM_EMU_SHFL_XOR: return "__shfl_xor_sync";
    case PAMM_EMU_BALLOT: return "__ballot_sync";
    case PAMM_EMU_ANY: return "__any_sync";
    case PAMM_EMU_ALL: return "__all_sync";
    case PAMM_EMU_SYNCWARP: return "__syncwarp";
    }
    return "?";
}

__attribute__((format(printf, 2, 3))) void fail_block(Worker& worker, const char* format, ...)
{
    if (worker.failed) return;
    const uint3& b = worker.fibers[0].state.block_idx;
    int used = snprintf(worker.error, sizeof worker.error, "block (%u,%u,%u): ", b.x, b.y, b.z);
    va_list list;
    va_start(list, format);
    vsnprintf(worker.error + used, sizeof worker.error - static_cast<std::size_t>(used), format, list);
    va_end(list);
    worker.failed = true;
}

void yield_to_scheduler()
{
    Worker& worker = *current_worker;
    switch_context(worker.running->context, worker.scheduler);
}

void fiber_entry()
{
    Worker& worker = *current_worker;
    worker.grid->body(worker.grid->args);
    worker.running->status = FiberStatus::Exited;
    yield_to_scheduler();
}

void* allocate_stack(const Worker& worker)
{
    std::size_t bytes = kStackBytes + worker.page_bytes;
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    // A page without access below the stack turns a stack overflow into a crash instead of silent corruption.
    mprotect(memory, worker.page_bytes, PROT_NONE);
    return memory;
}

bool start_fiber(Worker& worker, Fiber& fiber)
{
    if (!fiber.stack && !(fiber.stack = allocate_stack(worker))) return false;
    if (!make_fiber_context(fiber.context, static_cast<char*>(fiber.stack) + worker.page_bytes, kStackBytes, fiber_entry)) return false;
    fiber.status = FiberStatus::Runnable;
    return true;
}

void switch_to(Worker& worker, Fiber& fiber)
{
    worker.running = &fiber;
    pamm_emu_current = &fiber.state;
    switch_context(worker.scheduler, fiber.context);
    worker.running = nullptr;
    pamm_emu_current = nullptr;
}

int source_lane(const Fiber& fiber, int lane)
{
    int width = fiber.width;
    int first = lane & ~(width - 1);
    int last = first + width - 1;
    int source = lane;
    switch (fiber.op) {
    case PAMM_EMU_SHFL_IDX: source = first + (fiber.lane_argument & (width - 1)); break;
    case PAMM_EMU_SHFL_UP: source = lane - fiber.lane_argument; break;
    case PAMM_EMU_SHFL_DOWN: source = lane + fiber.lane_argument; break;
    case PAMM_EMU_SHFL_XOR: source = lane ^ fiber.lane_argument; break;
    default: break;
    }
    // Out of the lane's segment, CUDA returns the lane's own value (shfl.sync's clamp).
    if (fiber.op == PAMM_EMU_SHFL_UP && source < first) return lane;
    if (source > last || source < 0) return lane;
    return source;
}

void complete_collective(Fiber* warp, unsigned int participants)
{
    unsigned int votes = 0;
    for (int lane = 0; lane < kWarpSize; lane++)
        if ((participants >> lane & 1u) && warp[lane].value != 0) votes |= 1u << lane;
    for (int lane = 0; lane < kWarpSize; lane++) {
        if (!(participants >> lane & 1u)) continue;
        Fiber& fiber = warp[lane];
        switch (fiber.op) {
        case PAMM_EMU_BALLOT: fiber.result = votes; break;
        case PAMM_EMU_ANY: fiber.result = votes != 0; break;
        case PAMM_EMU_ALL: fiber.result = votes == participants; break;
        case PAMM_EMU_SYNCWARP: fiber.result = 0; break;
        default: {
            int source = source_lane(fiber, lane);
            // Reading a lane that does not take part is undefined in CUDA: poison it so that a use shows as NaN / -1.
            fiber.result = (participants >> source & 1u) ? warp[source].value : ~0ull;
        }
        }
        fiber.status = FiberStatus::Runnable;
    }
}

// Completes every warp collective whose named lanes have all arrived with the same mask and operation.
bool resolve_warp_collectives(Worker& worker, int threads)
{
    bool progressed = false;
    for (int base = 0; base < threads; base += kWarpSize) {
        int lanes = threads - base < kWarpSize ? threads - base : kWarpSize;
        unsigned int existing = lanes == kWarpSize ? ~0u : (1u << lanes) - 1u;
        Fiber* warp = &worker.fibers[base];
        for (int lane = 0; lane < lanes; lane++) {
            Fiber& fiber = warp[lane];
            if (fiber.status != FiberStatus::AtWarpCollective) continue;
            if (!(fiber.mask >> lane & 1u)) {
                fail_block(worker, "thread %d calls %s at %s with mask 0x%08x, which does not include its own lane %d",
                           base + lane, op_name(fiber.op), base_name(fiber.site), fiber.mask, lane);
                return false;
            }
            if (fiber.width < 1 || fiber.width > kWarpSize || (fiber.width & (fiber.width - 1)) != 0) {
                fail_block(worker, "thread %d calls %s at %s with width %d (a power of two from 1 to 32 is required)",
                           base + lane, op_name(fiber.op), base_name(fiber.site), fiber.width);
                return false;
            }
            unsigned int participants = fiber.mask & existing;
            bool complete = true;
            for (int other = 0; other < lanes && complete; other++)
                if (participants >> other & 1u)
                    complete = warp[other].status == FiberStatus::AtWarpCollective && warp[other].mask == fiber.mask
                        && warp[other].op == fiber.op;
            if (!complete) continue;
            complete_collective(warp, participants);
            progressed = true;
        }
    }
    return progressed;
}

const char* describe_wait(const Fiber& fiber, char* buffer, std::size_t size)
{
    switch (fiber.status) {
    case FiberStatus::Exited: snprintf(buffer, size, "has exited"); break;
    case FiberStatus::AtBlockBarrier: snprintf(buffer, size, "waits at __syncthreads at %s", base_name(fiber.site)); break;
    case FiberStatus::AtWarpCollective:
        snprintf(buffer, size, "waits in %s at %s with mask 0x%08x", op_name(fiber.op), base_name(fiber.site), fiber.mask);
        break;
    case FiberStatus::Runnable: snprintf(buffer, size, "is runnable"); break;
    }
    return buffer;
}

// Nothing can run and no barrier can complete: name one waiting thread and the thread it waits for.
void report_deadlock(Worker& worker, int threads)
{
    char first[256];
    char second[256];
    for (int thread = 0; thread < threads; thread++) {
        const Fiber& fiber = worker.fibers[thread];
        if (fiber.status != FiberStatus::AtWarpCollective) continue;
        int base = thread - thread % kWarpSize;
        for (int lane = 0; lane < kWarpSize && base + lane < threads; lane++) {
            const Fiber& other = worker.fibers[base + lane];
            if (!(fiber.mask >> lane & 1u)) continue;
            bool matches = other.status == FiberStatus::AtWarpCollective && other.mask == fiber.mask && other.op == fiber.op;
            if (matches) continue;
            fail_block(worker, "deadlock: thread %d %s, but thread %d named in the mask %s", thread,
                       describe_wait(fiber, first, sizeof first), base + lane, describe_wait(other, second, sizeof second));
            return;
        }
    }
    fail_block(worker, "deadlock: no thread can make progress");
}

// Releases __syncthreads when every live thread waits at it (exited threads no longer count, as on a GPU).
bool release_block_barrier(Worker& worker, int threads)
{
    const Fiber* first = nullptr;
    for (int thread = 0; thread < threads; thread++) {
        const Fiber& fiber = worker.fibers[thread];
        if (fiber.status == FiberStatus::Exited) continue;
        if (fiber.status != FiberStatus::AtBlockBarrier) return false;
        if (!first) { first = &fiber; continue; }
        if (strcmp(fiber.site, first->site) != 0) {
            fail_block(worker, "divergent __syncthreads: thread %d waits at %s while thread %d waits at %s",
                       static_cast<int>(first - &worker.fibers[0]), base_name(first->site), thread, base_name(fiber.site));
            return false;
        }
    }
    if (!first) return false;
    for (int thread = 0; thread < threads; thread++)
        if (worker.fibers[thread].status == FiberStatus::AtBlockBarrier) worker.fibers[thread].status = FiberStatus::Runnable;
    return true;
}

// SplitMix64's finaliser: a well-mixed 64-bit value from any input, so that neighbouring (seed, block,
// round) triples give unrelated permutations.
std::uint64_t mix64(std::uint64_t value)
{
    value += 0x9e3779b97f4a7c15ull;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
    return value ^ (value >> 31);
}

unsigned long long greatest_common_divisor(unsigned long long a, unsigned long long b)
{
    while (b != 0) {
        unsigned long long rest = a % b;
        a = b;
        b = rest;
    }
    return a;
}

// The shuffled order's permutation of the grid's blocks: an affine map with a stride prime to the block count.
void shuffle_blocks(Grid& grid)
{
    unsigned long long count = grid.block_count;
    if (grid.config->execution_order != kShuffled || count < 2) return;
    std::uint64_t key = mix64(mix64(grid.config->order_seed) ^ count);
    unsigned long long stride = 1 + key % (count - 1);
    while (greatest_common_divisor(stride, count) != 1) stride = stride % (count - 1) + 1;
    grid.stride = stride;
    grid.offset = mix64(key) % count;
}

// The block that the ticket-th hand-out runs.
unsigned long long block_of_ticket(const Grid& grid, unsigned long long ticket)
{
    switch (grid.config->execution_order) {
    case kDescending: return grid.block_count - 1 - ticket;
    case kShuffled:
        return static_cast<unsigned long long>((static_cast<unsigned __int128>(grid.stride) * ticket + grid.offset) % grid.block_count);
    default: return ticket;
    }
}

// The order of the turns of one round of a block (see the top of this file).
void order_turns(Worker& worker, const pamm_emu_launch_config& config, int threads, unsigned long long block,
                 unsigned long long round)
{
    // Ascending and descending turns are the same every round: laid out at the first only.
    if (round > 0 && config.execution_order != kShuffled) return;
    int* turns = worker.turns.get();
    for (int i = 0; i < threads; i++) turns[i] = config.execution_order == kDescending ? threads - 1 - i : i;
    if (config.execution_order != kShuffled) return;
    // Fisher-Yates with a counter-based stream: the same seed gives the same turns, whatever worker runs the block.
    std::uint64_t key = mix64(mix64(mix64(config.order_seed) ^ block) ^ round);
    for (int i = threads - 1; i > 0; i--) {
        key = mix64(key);
        int j = static_cast<int>(key % static_cast<std::uint64_t>(i + 1));
        int swapped = turns[i];
        turns[i] = turns[j];
        turns[j] = swapped;
    }
}

bool run_block(Worker& worker, const Grid& grid, unsigned long long linear)
{
    const pamm_emu_launch_config& config = *grid.config;
    dim3 grid_dim{config.grid[0], config.grid[1], config.grid[2]};
    dim3 block_dim{config.block[0], config.block[1], config.block[2]};
    uint3 block_idx{static_cast<unsigned int>(linear % grid_dim.x),
                    static_cast<unsigned int>(linear / grid_dim.x % grid_dim.y),
                    static_cast<unsigned int>(linear / grid_dim.x / grid_dim.y)};
    int threads = static_cast<int>(block_dim.x * block_dim.y * block_dim.z);
    // Shared memory is uninitialised on a GPU; the NaN / -1 pattern makes reads of unwritten words show.
    if (config.dynamic_shared_bytes > 0) memset(worker.dynamic_shared, 0xff, static_cast<std::size_t>(config.dynamic_shared_bytes));
    worker.failed = false;
    for (int thread = 0; thread < threads; thread++) {
        Fiber& fiber = worker.fibers[thread];
        unsigned int t = static_cast<unsigned int>(thread);
        fiber.state = pamm_emu_thread_state{{t % block_dim.x, t / block_dim.x % block_dim.y, t / block_dim.x / block_dim.y},
                                            block_idx, block_dim, grid_dim, worker.dynamic_shared};
        if (!start_fiber(worker, fiber)) {
            fail_block(worker, "could not make a %zu-byte fiber stack for thread %d", kStackBytes, thread);
            return false;
        }
    }
    for (unsigned long long round = 0;; round++) {
        order_turns(worker, config, threads, linear, round);
        bool alive = false;
        for (int turn = 0; turn < threads; turn++) {
            Fiber& fiber = worker.fibers[worker.turns[turn]];
            if (fiber.status == FiberStatus::Runnable) switch_to(worker, fiber);
            if (worker.failed) return false;
            alive |= fiber.status != FiberStatus::Exited;
        }
        if (!alive) return true;
        if (resolve_warp_collectives(worker, threads)) continue;
        if (worker.failed) return false;
        if (release_block_barrier(worker, threads)) continue;
        if (!worker.failed) report_deadlock(worker, threads);
        return false;
    }
}

// ---- faults inside a kernel -----------------------------------------------------------------------
// A write far from every buffer's guard, or a fiber overflowing its stack into the guard page, raises SIGSEGV (or
// SIGBUS) on a worker thread. While a grid runs, a handler turns it into a failed launch that names the kernel, the
// block, the thread and the address, as __trap() does, instead of ending the process: the fiber is abandoned (as a
// trapped one is) and the scheduler fails its block. A fault on any other thread goes to the handler this one
// replaced: the .NET runtime turns its own into NullReferenceException.
constexpr std::size_t kSignalStackBytes = 64 * 1024;
struct sigaction replaced_segv, replaced_bus;

Worker* faulting_worker()
{
    // Not thread-local storage: reading this library's TLS on a thread that never touched it may allocate.
    pthread_t self = pthread_self();
    for (const std::unique_ptr<Worker>& worker : worker_pool)
        if (worker->active.load(std::memory_order_acquire) && pthread_equal(worker->os_thread, self)) return worker.get();
    return nullptr;
}

void pass_on(int signal, siginfo_t* info, void* context)
{
    const struct sigaction& replaced = signal == SIGBUS ? replaced_bus : replaced_segv;
    if (replaced.sa_flags & SA_SIGINFO) {
        replaced.sa_sigaction(signal, info, context);
    } else if (replaced.sa_handler == SIG_DFL) {
        // Returning re-runs the faulting instruction, which then ends the process as it would have without us.
        struct sigaction fallback{};
        fallback.sa_handler = SIG_DFL;
        sigaction(signal, &fallback, nullptr);
    } else if (replaced.sa_handler != SIG_IGN) {
        replaced.sa_handler(signal);
    }
}

void on_fault(int signal, siginfo_t* info, void* context)
{
    Worker* worker = faulting_worker();
    if (!worker || !worker->running) {
        pass_on(signal, info, context);
        return;
    }
    Fiber& fiber = *worker->running;
    const uint3& t = fiber.state.thread_idx;
    auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
    auto guard = reinterpret_cast<std::uintptr_t>(fiber.stack);
    const char* what = address - guard < worker->page_bytes ? "overflowed its fiber stack"
                       : signal == SIGBUS                   ? "made an access the memory cannot serve (SIGBUS)"
                                                            : "accessed memory that is not mapped or not writable";
    // Where in which library the faulting instruction is: `addr2line -e <library> <offset>` names the kernel's line
    // (the emulator's libraries are built with -g, in the kernel cache).
    char where[512] = "";
#if defined(__x86_64__)
    auto instruction = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
    Dl_info library;
    if (dladdr(reinterpret_cast<void*>(instruction), &library) && library.dli_fname)
        snprintf(where, sizeof where, " (instruction at %s+0x%llx)", library.dli_fname,
                 static_cast<unsigned long long>(instruction - reinterpret_cast<std::uintptr_t>(library.dli_fbase)));
#endif
    fail_block(*worker, "thread (%u,%u,%u) %s, at address 0x%llx%s", t.x, t.y, t.z, what, static_cast<unsigned long long>(address), where);
    fiber.status = FiberStatus::Exited;
    // SA_NODEFER left the signal unblocked, so leaving the handler without returning leaves the thread as it was.
    switch_context(fiber.context, worker->scheduler);
    __builtin_unreachable();
}

// Installs the fault handler for the life of a grid; restores the replaced ones after it.
struct FaultHandlers {
    FaultHandlers()
    {
        struct sigaction action{};
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        sigaction(SIGSEGV, &action, &replaced_segv);
        sigaction(SIGBUS, &action, &replaced_bus);
    }
    ~FaultHandlers()
    {
        sigaction(SIGSEGV, &replaced_segv, nullptr);
        sigaction(SIGBUS, &replaced_bus, nullptr);
    }
    FaultHandlers(const FaultHandlers&) = delete;
    FaultHandlers& operator=(const FaultHandlers&) = delete;
};

// ---- static shared memory ------------------------------------------------------------------------
// Static __shared__ variables are this library's thread-locals, and each launch's worker threads are new, so they
// would start every launch as zeros: a kernel that reads one before any thread wrote it (a counter taken to start at
// zero) would work here and fail on a GPU, whose shared memory holds whatever was there. So a worker fills this
// library's thread-local block with 0xFF (NaN in every float type, -1 in integers, as dynamic shared memory) before
// its first block; the blocks that follow it on the same worker find what the previous one left, as on a GPU. The
// runtime's own thread-locals are left out of the fill (last_error and its guard are never used on a worker). Not a
// save and restore around one fill: the compiler may take current_worker, whose address is never taken elsewhere, to
// be out of a memset's reach, and drop the restore (it did).
struct ThreadLocalBlock {
    void* address = nullptr;
    std::size_t bytes = 0;
};

int find_thread_local_block(dl_phdr_info* info, std::size_t, void* found)
{
    auto self = reinterpret_cast<ElfW(Addr)>(&find_thread_local_block);
    bool ours = false;
    const ElfW(Phdr)* tls = nullptr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)& header = info->dlpi_phdr[i];
        if (header.p_type == PT_TLS) tls = &header;
        if (header.p_type == PT_LOAD && self - (info->dlpi_addr + header.p_vaddr) < header.p_memsz) ours = true;
    }
    if (!ours) return 0;
    if (tls && info->dlpi_tls_data) *static_cast<ThreadLocalBlock*>(found) = {info->dlpi_tls_data, tls->p_memsz};
    return 1;
}

void poison_static_shared()
{
    ThreadLocalBlock block;
    dl_iterate_phdr(find_thread_local_block, &block);
    if (!block.address) return;
    auto* begin = static_cast<char*>(block.address);
    char* end = begin + block.bytes;
    char* kept[2] = {reinterpret_cast<char*>(&current_worker), reinterpret_cast<char*>(&pamm_emu_current)};
    if (kept[1] < kept[0]) std::swap(kept[0], kept[1]);
    char* from = begin;
    for (char* variable : kept) {
        if (variable < from || variable >= end) continue; // not in this block (cannot happen; never fill over it)
        memset(from, 0xff, static_cast<std::size_t>(variable - from));
        from = variable + sizeof(void*);
    }
    memset(from, 0xff, static_cast<std::size_t>(end - from));
}

void run_blocks(Worker& worker, Grid& grid)
{
    // The first use of a thread-local here also makes this thread's block of them, which the poisoning looks up.
    current_worker = &worker;
    poison_static_shared();
    worker.grid = &grid;
    if (!worker.signal_stack) worker.signal_stack.reset(new char[kSignalStackBytes]);
    stack_t signal_stack{};
    signal_stack.ss_sp = worker.signal_stack.get();
    signal_stack.ss_size = kSignalStackBytes;
    sigaltstack(&signal_stack, nullptr);
    worker.os_thread = pthread_self();
    worker.active.store(true, std::memory_order_release);
    while (!grid.failed.load(std::memory_order_relaxed)) {
        unsigned long long ticket = grid.next_block.fetch_add(1, std::memory_order_relaxed);
        if (ticket >= grid.block_count) break;
        if (run_block(worker, grid, block_of_ticket(grid, ticket))) continue;
        std::lock_guard<std::mutex> lock(grid.error_mutex);
        if (!grid.failed.exchange(true)) grid.error = worker.error;
    }
    worker.active.store(false, std::memory_order_release);
    signal_stack.ss_flags = SS_DISABLE;
    sigaltstack(&signal_stack, nullptr);
    current_worker = nullptr;
}

bool prepare_worker(Worker& worker, std::size_t dynamic_shared_bytes)
{
    if (worker.dynamic_shared_capacity >= dynamic_shared_bytes) return true;
    std::size_t bytes = (dynamic_shared_bytes + kSharedAlignment - 1) / kSharedAlignment * kSharedAlignment;
    void* memory = aligned_alloc(kSharedAlignment, bytes);
    if (!memory) return false;
    free(worker.dynamic_shared);
    worker.dynamic_shared = memory;
    worker.dynamic_shared_capacity = bytes;
    return true;
}

int fail_launch(const char* kernel, const std::string& message)
{
    last_error = std::string(kernel) + ": " + message;
    return 1;
}

} // namespace

void pamm_emu_syncthreads(const char* site)
{
    Fiber& fiber = *current_worker->running;
    fiber.status = FiberStatus::AtBlockBarrier;
    fiber.site = site;
    yield_to_scheduler();
}

unsigned long long pamm_emu_warp_collective(const char* site, pamm_emu_warp_op op, unsigned int mask, unsigned long long value,
                                            int lane_argument, int width)
{
    Fiber& fiber = *current_worker->running;
    fiber.status = FiberStatus::AtWarpCollective;
    fiber.site = site;
    fiber.op = op;
    fiber.mask = mask;
    fiber.value = value;
    fiber.lane_argument = lane_argument;
    fiber.width = width;
    yield_to_scheduler();
    return fiber.result;
}

void pamm_emu_trap(const char* site)
{
    Worker& worker = *current_worker;
    const uint3& t = worker.running->state.thread_idx;
    fail_block(worker, "thread (%u,%u,%u) executed __trap() at %s", t.x, t.y, t.z, base_name(site));
    worker.running->status = FiberStatus::Exited;
    yield_to_scheduler();
    __builtin_unreachable();
}

extern "C" __attribute__((visibility("default"))) const char* pamm_emu_last_error()
{
    return last_error.c_str();
}

extern "C" int pamm_emu_run_grid(const pamm_emu_launch_config* config, const char* kernel, void (*body)(void**), void** args)
{
    // One grid at a time: the worker pool and its fiber stacks are shared by every launch of this library.
    std::lock_guard<std::mutex> lock(launch_mutex);
    Grid grid;
    grid.config = config;
    grid.kernel = kernel;
    grid.body = body;
    grid.args = args;
    grid.block_count = static_cast<unsigned long long>(config->grid[0]) * config->grid[1] * config->grid[2];
    shuffle_blocks(grid);
    unsigned long long wanted = config->worker_threads < 1 ? 1ull : static_cast<unsigned long long>(config->worker_threads);
    std::size_t workers = static_cast<std::size_t>(wanted < grid.block_count ? wanted : grid.block_count);
    std::vector<std::thread> threads;
    std::optional<FaultHandlers> fault_handlers;
    try {
        while (worker_pool.size() < workers) worker_pool.push_back(std::make_unique<Worker>());
        for (std::size_t i = 0; i < workers; i++)
            if (!prepare_worker(*worker_pool[i], static_cast<std::size_t>(config->dynamic_shared_bytes)))
                return fail_launch(kernel, "out of memory for dynamic shared memory");
        threads.reserve(workers);
        // From here until the threads are joined the pool does not change, so the handler may walk it.
        fault_handlers.emplace();
        for (std::size_t i = 0; i < workers; i++) threads.emplace_back(run_blocks, std::ref(*worker_pool[i]), std::ref(grid));
    } catch (const std::exception& exception) {
        grid.failed = true;
        grid.error = std::string("the emulator could not start its worker threads: ") + exception.what();
    }
    for (std::thread& thread : threads) thread.join();
    if (grid.failed.load()) return fail_launch(kernel, grid.error);
    last_error.clear();
    return 0;
}
