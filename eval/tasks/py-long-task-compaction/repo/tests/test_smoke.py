import importlib
import pkgutil
import unittest

import converters


class SmokeTest(unittest.TestCase):
    def test_every_module_converts_zero(self):
        for info in pkgutil.iter_modules(converters.__path__):
            module = importlib.import_module(f"converters.{info.name}")
            self.assertIsNotNone(module.convert(0))
