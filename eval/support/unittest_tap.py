"""Runs a directory's unittest tests and prints TAP, one line per test named by its id.

The eval grader copies this file into the graded workspace (as .eval-grader/unittest_tap.py) so the
result does not depend on any runner the agent could have edited. Usage: unittest_tap.py [start_dir].
"""
import sys
import unittest


def iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def main():
    start = sys.argv[1] if len(sys.argv) > 1 else "tests"
    sys.path.insert(0, ".")
    suite = unittest.defaultTestLoader.discover(start, top_level_dir=".")
    tests = list(iter_tests(suite))
    print("TAP version 13")
    failed = 0
    for number, test in enumerate(tests, 1):
        result = unittest.TestResult()
        test.run(result)
        problems = result.failures + result.errors
        # A module that failed to import is a _FailedTest: it counts as failing under its own id.
        ok = not problems and result.testsRun > 0 and not result.skipped
        if result.skipped:
            print(f"ok {number} - {test.id()} # SKIP")
            continue
        if not ok:
            failed += 1
        print(f"{'ok' if ok else 'not ok'} {number} - {test.id()}")
        for _, trace in problems:
            for line in trace.rstrip().splitlines()[-6:]:
                print(f"  # {line}")
    print(f"1..{len(tests)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
