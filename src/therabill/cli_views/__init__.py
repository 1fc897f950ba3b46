"""The command line's views: tables, text and charts for people.

This package and ``therabill.cli`` (with the check view in ``therabill.render``) are the only
modules that import rich, typer or matplotlib. The engine, rules, pricing, reference data and the
guide return data (pydantic models, dicts); everything here turns that data into output.
A test (tests/cli/test_import_boundary.py) holds the line.
"""
