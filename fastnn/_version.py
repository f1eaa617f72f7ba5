"""The version of fastnn: the one place it is written (pyproject.toml reads it from here;
CHANGELOG.md says what each version changed)."""

__version__ = "0.2.0.dev0"
