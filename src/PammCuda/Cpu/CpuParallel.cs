namespace PammCuda.Cpu;

/// <summary>
/// <see cref="Parallel.For{TLocal}(int, int, ParallelOptions, Func{TLocal}, Func{int, ParallelLoopState, TLocal, TLocal}, Action{TLocal})"/>,
/// except that a loop of one task (or with one thread allowed) runs on the calling thread alone. Parallel.For waits for
/// the helper tasks it queues even when they find nothing to do, and on a busy machine a worker thread can take
/// milliseconds to be scheduled: longer than a whole small product.
/// </summary>
internal static class CpuParallel
{
    public static void For<TLocal>(int tasks, ParallelOptions parallelOptions, Func<TLocal> localInit, Func<int, TLocal, TLocal> body, Action<TLocal> localFinally)
    {
        if (tasks <= 0) return;
        if (tasks == 1 || parallelOptions.MaxDegreeOfParallelism == 1)
        {
            TLocal local = localInit();
            try
            {
                for (int task = 0; task < tasks; task++) local = body(task, local);
            }
            finally
            {
                localFinally(local);
            }
            return;
        }
        Parallel.For(0, tasks, parallelOptions, localInit, (task, _, local) => body(task, local), localFinally);
    }
}
