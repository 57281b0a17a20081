"""Support code for the tests, by job: the database (``database``), talking HTTP to the
application (``http``), applications in this process (``servers``), processes of their own
(``processes``), the generated-input tally (``fuzz``) and a hand-moved clock for the unit
tests (``clock``). ``tests/conftest.py`` turns them into fixtures; ``tests/__init__.py``
has their asserts rewritten like a test's.
"""
