"""esmctl: manage AWS Lambda event source mappings."""

__version__ = "0.1.0"


def main() -> None:
    """The `esmctl` command. A Ctrl-C while its modules load ends it as one later does: `esmctl: interrupted`, exit
    130, no traceback."""
    import sys

    try:
        from esmctl.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("esmctl: interrupted\n")
        raise SystemExit(130) from None
    run()
