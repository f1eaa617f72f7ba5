"""Command line: `python -m fastnn info` (also the `fastnn` console script)."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn command line")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="version, BLAS library and threads, OpenMP, backend")
    demo = sub.add_parser("demo", help="train an MLP on the bundled digits")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--hidden", type=int, default=64)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "info":
        import fastnn
        fastnn.show_config()
        return 0
    if args.command == "demo":
        from fastnn.demo import run_digits
        return run_digits(epochs=args.epochs, hidden=args.hidden, seed=args.seed)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
