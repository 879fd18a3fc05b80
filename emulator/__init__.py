"""Local stand-in for the AWS Backup and RDS APIs that restores into real PostgreSQL/MariaDB servers.

Start it with the ``backup-emulator`` console script or, in process, with
:func:`emulator.server.run_in_thread` / :func:`emulator.server.start`.
"""

from emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig"]
