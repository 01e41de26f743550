import unittest

from textkit.wrap import wrap


class WrapTest(unittest.TestCase):
    def test_short_text(self):
        self.assertEqual(wrap("a b c", 10), ["a b c"])

    def test_long_word(self):
        self.assertEqual(wrap("tiny enormousword", 5), ["tiny", "enormousword"])

    def test_exact_fit(self):
        self.assertEqual(wrap("aaa bbb ccc", 7), ["aaa bbb", "ccc"])
