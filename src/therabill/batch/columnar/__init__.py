"""The columnar path of a batch run: the common visit, checked as columns.

Most visits of a claims file are plain: a therapist's timed and untimed services without
modifiers or assistants, codes that no NCCI pair or MUE touches, a known locality, and a
patient whose year stays under the KX threshold. For those the engine's decisions reduce to a
few figures per line, which polars works out for the whole file at once: units by the payer's
method, the unit prices (the engine's own pricing, once per payer, period, place and code),
MPPR, the allowed amount, the deductible and threshold amounts accrued through each patient's
year, coinsurance and sequestration. Decisions come out as rule ids with their figures, in the
engine's words; the tables equal ``Engine.check``'s, row for row (a property test).

``read`` takes a plain CSV, TSV or Parquet file as one frame, ``facts`` builds the reference
tables from an engine, ``check`` says which visits the path covers and works out their lines
and findings, ``run`` merges them with the engine's results for every other visit.
"""

from therabill.batch.columnar.facts import Facts

__all__ = ["Facts"]
