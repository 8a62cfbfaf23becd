"""Errors a user can cause. The CLI prints their message and exits with code 2, no traceback."""


class GenbenchError(Exception):
    """Something the user can fix: the message says what was wrong, where, and what to do."""


class SuiteError(GenbenchError):
    """An invalid suite file; the message names the file, the line and the key."""

    def __init__(self, path: str, line: int | None, key: str, problem: str) -> None:
        self.path, self.line, self.key, self.problem = path, line, key, problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {key}: {problem}")
