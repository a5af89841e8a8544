"""A faithful local imitation of the three upstream platforms, over real HTTP.

It serves the demo, the tests and the benchmarks; nothing upstream is ever reached from
here. Each platform lives in its own module (`imraising`, `actionnetwork`, `p2p`) with its
state, its documented endpoints and its fault injection; `app.create_app` mounts them
together with a donation generator. Control endpoints live under `/_sandbox/`.

Run it alone with `python -m fundboard.sandbox --port 8100`.
"""
