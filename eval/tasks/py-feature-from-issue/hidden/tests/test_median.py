import unittest

from stats import median


class MedianTest(unittest.TestCase):
    def test_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)

    def test_does_not_reorder_input(self):
        data = [5, 1, 4]
        median(data)
        self.assertEqual(data, [5, 1, 4])

    def test_empty_raises(self):
        with self.assertRaisesRegex(ValueError, "median of empty data"):
            median([])
