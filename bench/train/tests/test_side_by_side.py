"""The processes that train modes side by side on the CPU: how many threads their libraries start."""

import os
import unittest

import training


def _thread_settings():
    """In a worker: what its libraries read as they load."""
    return {name: os.environ.get(name) for name in training.THREAD_VARIABLES}


class SideBySidePoolTest(unittest.TestCase):
    def setUp(self):
        saved = {name: os.environ.get(name) for name in training.THREAD_VARIABLES}
        self.addCleanup(lambda: [os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
                                 for name, value in saved.items()])

    def test_every_worker_starts_its_libraries_with_the_runs_threads(self):
        # What the user set is overridden in the workers: with 2 jobs an OPENBLAS_NUM_THREADS of 2 would put four
        # spinning threads on two cores.
        os.environ["OPENBLAS_NUM_THREADS"] = "2"
        with training.side_by_side_pool(2, 3) as pool:
            seen = [future.result() for future in [pool.submit(_thread_settings) for _ in range(2)]]
        self.assertEqual(seen, [{name: "3" for name in training.THREAD_VARIABLES}] * 2)

    def test_the_commands_own_environment_is_left_as_it_was(self):
        os.environ["OMP_NUM_THREADS"] = "5"
        os.environ.pop("OPENBLAS_NUM_THREADS", None)
        os.environ.pop("DOTNET_PROCESSOR_COUNT", None)
        with training.side_by_side_pool(1, 1) as pool:
            pool.submit(_thread_settings).result()
        self.assertEqual(_thread_settings(), {"OMP_NUM_THREADS": "5", "OPENBLAS_NUM_THREADS": None, "DOTNET_PROCESSOR_COUNT": None})


if __name__ == "__main__":
    unittest.main()
