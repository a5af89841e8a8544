"""Upstream platform clients: HTTP and parsing only, no ORM.

Each client turns what its platform says into the plain records of `records.py` and raises
the typed errors of `errors.py`; `fundboard.ingest` decides what they mean for health.
A fourth platform is one new module here.
"""
