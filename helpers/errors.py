"""One exception type for every mistake a workshop attendee can make.

Library code raises `WorkshopError` with a message that names the problem *and* the fix.
The command-line tools print that message on one line and exit with status 2; notebooks
show it as the last line of the cell's output. Anything else is a bug in this project.
"""

import sys


class WorkshopError(ValueError):
    """A problem with the user's input or environment, with a message that says how to fix it."""


def require(condition: bool, message: str) -> None:
    """Raise `WorkshopError(message)` unless `condition` holds."""
    if not condition:
        raise WorkshopError(message)


def one_line(err: BaseException) -> str:
    """The error's message on a single line, as the command-line tools print it."""
    return " ".join(line.strip() for line in str(err).splitlines() if line.strip())


def cli_exit_status(action) -> int:
    """Run a command-line tool's `action()`: its status when it returns one (an int), else 0; or one `error:`
    line on stderr and status 2."""
    try:
        status = action()
    except WorkshopError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    return status if type(status) is int else 0
