"""Greedy word wrapping."""


def wrap(text, width):
    """Splits text into lines of at most `width` characters, breaking between words.

    A word longer than `width` gets a line of its own.
    """
    lines = []
    current = ""
    for word in text.split():
        candidate = word if not current else current + " " + word
        if len(candidate) < width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines
