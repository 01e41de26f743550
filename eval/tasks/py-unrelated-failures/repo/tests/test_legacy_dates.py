import datetime
import unittest

from textkit.legacy_dates import archive_date


class ArchiveDateTest(unittest.TestCase):
    def test_two_digit_year(self):
        self.assertEqual(archive_date(datetime.date(2024, 3, 9)), "09/03/24")
