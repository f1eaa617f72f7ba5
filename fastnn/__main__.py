"""Command line: ``python -m fastnn <command>`` (also the ``fastnn`` console script).

    fastnn info                      version, BLAS library and threads, OpenMP, backend
    fastnn demo [--task digits|moons|all] [--hidden N] [--epochs N] [--out DIR] [--seed N]
    fastnn train data.csv --target COLUMN [--task classification|regression]
                 [--hidden 64,32] [--epochs N] [--out DIR]

Mistakes in the arguments or the input files are reported on stderr, without a
traceback, with exit status 2.
"""
import argparse
import sys


def _positive(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {text!r}")
    return v


def _non_negative(text):
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0. Received: {text!r}")
    return v


def build_parser():
    from fastnn import cli_train

    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn command line")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.add_parser("info", help="version, BLAS library and threads, OpenMP, backend")
    demo = sub.add_parser(
        "demo", help="train MLPs on the bundled digits and on make_moons, draw pictures",
        description="Train an MLP on the bundled 8x8 digits (>= 95%% test accuracy) and a "
                    "small one on make_moons; write pictures of the models, their training "
                    "and the moons decision boundary into an output folder.")
    # the recurrent sequence task joins these choices when it is added to demo.TASKS
    demo.add_argument("--task", choices=["digits", "moons", "all"], default="all",
                      help="which task to run (default all)")
    demo.add_argument("--hidden", type=_positive, default=None,
                      help="width of the hidden layers (default 64 for digits, 8 for moons)")
    demo.add_argument("--epochs", type=_positive, default=None,
                      help="training epochs (default 30 for digits, 300 for moons)")
    demo.add_argument("--out", default="fastnn-demo-output",
                      help="output folder for the pictures (default ./fastnn-demo-output)")
    demo.add_argument("--seed", type=_non_negative, default=0, help="random seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    cli_train.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)   # exits with status 2 on bad arguments
    from fastnn.cli_train import CommandError

    try:
        if args.command == "info":
            import fastnn
            fastnn.show_config()
            return 0
        if args.command == "demo":
            from fastnn.demo import run
            return run(task=args.task, hidden=args.hidden, epochs=args.epochs, out=args.out,
                       seed=args.seed, verbose=0 if args.quiet else 2)
        if args.command == "train":
            from fastnn import cli_train
            return cli_train.run(args)
    except CommandError as err:
        sys.stdout.flush()
        print(f"fastnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fastnn {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
