"""Where a missing GPU fails the CUDA tests instead of skipping them: on a GPU visit (PAMM_REQUIRE_CUDA=1), never elsewhere."""

import os
import re
import unittest
import unittest.mock

import requirements


class CudaRequirementTest(unittest.TestCase):
    def reason(self, **environment):
        with unittest.mock.patch.dict(os.environ, environment):
            return requirements.cuda_skip_reason.__wrapped__()

    def test_a_missing_gpu_is_an_error_where_cuda_is_required(self):
        without = self.reason()
        if without is None:
            self.skipTest("CUDA is present here, so nothing is missing")
        with self.assertRaisesRegex(RuntimeError, re.escape(f"PAMM_REQUIRE_CUDA=1, but {without}")):
            self.reason(PAMM_REQUIRE_CUDA="1")
        self.assertEqual(self.reason(PAMM_REQUIRE_CUDA="0"), without)

    def test_a_present_gpu_passes_either_way(self):
        if self.reason() is not None:
            self.skipTest("no CUDA here")
        self.assertIsNone(self.reason(PAMM_REQUIRE_CUDA="1"))


if __name__ == "__main__":
    unittest.main()
