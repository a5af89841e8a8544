"""Upstream platform clients: HTTP and parsing only, no ORM.

Each platform's protocol is one package (`imraising/`, `actionnetwork/`, `p2p/`) that turns
what its platform says into the plain records of `records.py` and raises the typed errors of
`errors.py`; `fundboard.ingest` decides what they mean for health. All of them talk through
the one HTTP layer, `http.py` (client settings, User-Agent, status -> error, Retry-After),
the polled ones with `conditional.py` (ETags, 304s). A fourth platform is one new package.
"""
