import unittest

from converters.hectares_to_acres import REFERENCE, convert


class HectaresToAcresTest(unittest.TestCase):
    def test_reference_values(self):
        for value, expected in REFERENCE[:20]:
            self.assertAlmostEqual(convert(value), expected)

    def test_rejects_negative(self):
        with self.assertRaisesRegex(ValueError, "negative value: -2"):
            convert(-2)
