"""Helpers for tests that start the command lines as a user's shell would."""

from __future__ import annotations

import signal


def as_from_a_shell():
    """In the child before exec: SIGINT and SIGTERM delivered and handled by default, as a shell starts a
    command, whatever an earlier test left in this worker process (an ignored or blocked signal is inherited)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
