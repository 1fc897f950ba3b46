"""The HTTP service: an interface layer over ``therabill.Engine`` (FastAPI, imported only here)."""
