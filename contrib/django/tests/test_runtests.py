import unittest

from django.test import SimpleTestCase

import runtests


def sample_case():
    """A TestCase run by the test below (defined here so that discovery skips it)."""

    class Sample(unittest.TestCase):
        def test_subtests_fail(self):
            for i in range(3):
                with self.subTest(i=i):
                    self.assertEqual(i, -1)

        def test_subtests_skip(self):
            for i in range(2):
                with self.subTest(i=i):
                    self.skipTest("skipped")

        def test_passes(self):
            pass

    return Sample


class CountTests(SimpleTestCase):
    def test_failed_subtests_count_their_test_once(self):
        sample = sample_case()
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(sample).run(result)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual(len(result.failures), 3)  # one per failed subtest
        failed = runtests._test_ids([t for t, _ in result.failures])
        skipped = runtests._test_ids([t for t, _ in result.skipped])
        self.assertEqual(failed, {sample("test_subtests_fail").id()})
        self.assertEqual(skipped, {sample("test_subtests_skip").id()})
        # The closing line then reads "1 passed, 1 failed, 1 skipped".
        self.assertEqual(result.testsRun - len(failed) - len(skipped), 1)
