"""The fastnn command line: ``fastnn <command>`` (console script) or
``python -m fastnn <command>``.

    fastnn --version

    fastnn info                      version, BLAS library and threads, backend
    fastnn demo [--task digits|moons|sequence|all] [--hidden N] [--epochs N] [--out DIR]
                [--seed N] [--quiet]
    fastnn train data.csv --target COLUMN [--task classification|regression]
                 [--hidden 64,32] [--epochs N] [--out DIR]

Mistakes in the arguments or the input files are reported on stderr, without a
traceback, with exit status 2.
"""

import argparse
import sys

from fastnn.cli import demo, train
from fastnn.cli._args import CommandError, non_negative_int, positive_int


def build_parser():
    """The argument parser of every subcommand."""
    from fastnn._version import __version__

    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn command line")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.add_parser("info", help="version, BLAS library and threads, backend")
    demo_p = sub.add_parser(
        "demo",
        help="train small networks (MLPs, an LSTM) on bundled and synthetic data, draw pictures",
        description="Train an MLP on the bundled 8x8 digits (>= 95%% test accuracy), a small "
        "one on make_moons and an LSTM on the adding problem (test MSE < 0.01, "
        "against about 0.167 for predicting the mean); write pictures of the "
        "models, their training, the moons decision boundary and the LSTM's "
        "hidden states into an output folder.",
    )
    demo_p.add_argument(
        "--task",
        choices=list(demo.TASKS) + ["all"],
        default="all",
        help="which task to run (default all)",
    )
    demo_p.add_argument(
        "--hidden",
        type=positive_int,
        default=None,
        help="width of the hidden layers (default 64 for digits, 8 for moons, "
        "32 LSTM units for sequence)",
    )
    demo_p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="training epochs (default 30 for digits, 300 for moons, 40 for sequence)",
    )
    demo_p.add_argument(
        "--out",
        default="fastnn-demo-output",
        help="output folder for the pictures (default ./fastnn-demo-output)",
    )
    demo_p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    demo_p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 on bad arguments
    try:
        if args.command == "info":
            import fastnn

            fastnn.show_config()
            return 0
        if args.command == "demo":
            return demo.run(
                task=args.task,
                hidden=args.hidden,
                epochs=args.epochs,
                out=args.out,
                seed=args.seed,
                verbose=0 if args.quiet else 2,
            )
        if args.command == "train":
            return train.run(args)
    except CommandError as err:
        sys.stdout.flush()
        print(f"fastnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fastnn {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return 0
