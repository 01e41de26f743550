import unittest

from converters.kilograms_to_pounds import REFERENCE, convert


class KilogramsToPoundsTest(unittest.TestCase):
    def test_reference_values(self):
        for value, expected in REFERENCE[:20]:
            self.assertAlmostEqual(convert(value), expected)

    def test_rejects_negative(self):
        with self.assertRaisesRegex(ValueError, "negative value: -2"):
            convert(-2)
