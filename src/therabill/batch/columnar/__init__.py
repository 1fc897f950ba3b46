"""The columnar path of a batch run: the common Medicare visit, checked as columns.

Most visits of a claims file are plain: Medicare, a therapist's timed and untimed services
without modifiers or assistants, codes that no NCCI pair or MUE touches, a known locality, and a
patient whose year stays under the KX threshold. For those the engine's decisions reduce to a few
figures per line, which polars works out for the whole file at once: units by the 8-minute rule,
the unit prices (taken from the engine's own pricing, once per period, place and code), MPPR,
the allowed amount, the deductible and the threshold amounts accrued through each patient's year,
coinsurance and sequestration. Decisions come out as rule ids with their figures, in the engine's
words.

Every other visit, and every patient-year that holds one, goes to ``Engine.check`` as before.
``facts`` builds the reference tables from an engine; ``plan`` reads a file and says which
visits the path covers; ``compute`` works out their lines and findings.
"""

from therabill.batch.columnar.facts import Facts

__all__ = ["Facts"]
