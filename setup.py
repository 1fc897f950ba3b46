"""Optional compiled build: ``THERABILL_COMPILE=1`` compiles the engine's hot modules with mypyc.

The default build is pure Python (what development and the test suite use). Batch users and the
benchmark build the compiled variant: same source, same behaviour, about twice as fast.
"""

import os

from setuptools import setup

# The modules every visit passes through; they are fully typed (mypy --strict defs).
COMPILED = [
    "src/therabill/money.py",
    "src/therabill/memo.py",
    "src/therabill/decision.py",
    "src/therabill/reference/records.py",
    "src/therabill/engine.py",
    "src/therabill/intake.py",
    "src/therabill/rules/worklist.py",
    "src/therabill/rules/units.py",
    "src/therabill/rules/units_step.py",
    "src/therabill/rules/assistant.py",
    "src/therabill/rules/assistant_step.py",
    "src/therabill/rules/modifiers.py",
    "src/therabill/rules/coverage.py",
    "src/therabill/rules/ncci.py",
    "src/therabill/rules/payer_edits.py",
    "src/therabill/pricing/engine.py",
    "src/therabill/pricing/context.py",
    "src/therabill/pricing/fee_schedule.py",
    "src/therabill/pricing/mppr.py",
    "src/therabill/pricing/patient_share.py",
]

ext_modules = []
if os.environ.get("THERABILL_COMPILE") == "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3")

setup(ext_modules=ext_modules)
