"""Support code for the tests, by job: the database (``database``), talking HTTP to the
application (``http``), applications in this process (``servers``), processes of their own
(``processes``) and the generated-input tally (``fuzz``). ``tests/conftest.py`` turns
them into fixtures; ``tests/__init__.py`` has their asserts rewritten like a test's.
"""
