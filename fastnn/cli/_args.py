"""What the subcommands share: the user-error exception, argparse value types and the
output folder. One home, so every command words its errors the same way."""

import argparse
import os


class CommandError(Exception):
    """A user error of a fastnn command: printed on stderr, exit status 2."""


def positive_int(text):
    """argparse type: an integer > 0."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {text!r}")
    return v


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0. Received: {text!r}")
    return v


def layer_widths(text):
    """argparse type: comma-separated positive layer widths, e.g. 64,32."""
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        sizes = ()
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 64,32. Received: {text!r}"
        )
    return sizes


def output_folder(out):
    """The absolute path of the --out folder, created if missing; CommandError when it is
    a file or cannot be created."""
    out_abs = os.path.abspath(out)
    if os.path.exists(out_abs) and not os.path.isdir(out_abs):
        raise CommandError(f"--out {out!r} exists and is not a folder")
    try:
        os.makedirs(out_abs, exist_ok=True)
    except OSError as err:
        raise CommandError(f"cannot create the output folder {out!r}: {err.strerror}") from None
    return out_abs
