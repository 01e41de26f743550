"""Small descriptive statistics over lists of numbers."""


def mean(values):
    """The arithmetic mean of a non-empty list of numbers."""
    if not values:
        raise ValueError("mean of empty data")
    return sum(values) / len(values)
