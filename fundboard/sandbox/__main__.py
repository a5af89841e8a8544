"""`python -m fundboard.sandbox`: serve the imitation platforms on loopback."""

import argparse

import uvicorn

from .app import Sandbox, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Fundboard's imitation of the upstream APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--rate", type=float, default=0.0, help="generated donations per second")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    sandbox = Sandbox(rate=args.rate, seed=args.seed)
    uvicorn.run(create_app(sandbox), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
