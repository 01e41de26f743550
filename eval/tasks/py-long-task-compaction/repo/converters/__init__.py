"""Unit converters, one module each; every module exposes convert(value)."""
