"""Dates in the format of the old billing export (kept for the archive reader)."""
import datetime


def archive_date(day):
    """The export wrote dates as DD/MM/YY."""
    return day.strftime("%d/%m/%Y")
