"""therabill: outpatient therapy claims from documented visits, each decision explained."""

__version__ = "0.1.0"
