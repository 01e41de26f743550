import unittest

from converters.joules_to_calories import REFERENCE, convert


class JoulesToCaloriesTest(unittest.TestCase):
    def test_reference_values(self):
        for value, expected in REFERENCE[:20]:
            self.assertAlmostEqual(convert(value), expected)

    def test_rejects_negative(self):
        with self.assertRaisesRegex(ValueError, "negative value: -2"):
            convert(-2)
