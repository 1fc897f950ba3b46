"""Claims files: read visits from CSV, Parquet, JSON and X12 837P; write lines, findings and
FHIR; check them on every core. An interface layer over ``therabill.Engine``."""
