"""The columnar path of a batch run: the common visit, checked as columns.

Most visits of a claims file are common ones: a therapist's timed and untimed services, with
or without an NCCI modifier or an assistant's minutes, within the MUEs, for a payer whose
policy the path reproduces. For those the engine's decisions reduce to a few figures per line,
which polars works out a part of the file at a time: units by the payer's method, the CQ/CO
split, the NCCI pairs and the payer's own pairs and daily cap (each decided by its rule once
per distinct set of figures), the unit prices (the engine's own pricing, once per payer,
period, place and code), MPPR, the allowed amount, the deductible and threshold amounts
accrued through each patient's year, coinsurance, the CQ/CO reduction and sequestration.
Decisions come out as rule ids with their figures, in the engine's words; the tables equal
``Engine.check``'s, row for row (a property test).

``read`` takes a plain CSV, TSV or Parquet file as coded cells, ``facts`` builds the reference
tables from an engine, ``check`` says which visits the path covers and works out their lines
and findings, ``run`` works the parts (one per core asked for at once), each with the engine's
results for its other visits, and writes them in order.
"""

from therabill.batch.columnar.facts import Facts

__all__ = ["Facts"]
