"""Work in forked processes: a function run apart while the caller goes on (:class:`Apart`),
and what every forked worker does first (:func:`ignore_sigint`)."""

from __future__ import annotations

import multiprocessing
import signal
from typing import Any, Callable


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops us


class Apart:
    """``function(*args)`` run by a process forked for it while this one goes on (``what`` it
    does names it in an error). :meth:`result` waits for it to end; :meth:`stop` ends it
    first if it still runs (the build was stopped), and must follow in any case.

    Reading an object writes its reference count, so the process copies the memory pages
    of what it reads: whoever uses this forks other workers only once it has ended.
    """

    def __init__(self, what: str, function: Callable[..., Any], *args: Any):
        context = multiprocessing.get_context("fork")
        self.what = what
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_run_apart, args=(send, function, args),
                                       daemon=True)
        self.process.start()
        send.close()
        self.received = False

    def result(self) -> Any:
        """What ``function`` returned (or what it raised, raised here), once the process ended."""
        try:
            outcome, value = self.receive.recv()
            self.received = True
        except EOFError:
            raise RuntimeError(f"the process that {self.what} ended without its result"
                               ) from None
        self.process.join()  # its memory is given back
        if outcome == "raised":
            raise value
        return value

    def stop(self) -> None:
        if not self.received:
            self.process.kill()
        self.process.join()
        self.receive.close()


def _run_apart(send: Any, function: Callable[..., Any], args: tuple) -> None:
    """In :class:`Apart`'s process: run ``function`` and send what came of it."""
    ignore_sigint()  # the process that forked this one stops it
    try:
        send.send(("made", function(*args)))
    except BaseException as error:  # noqa: BLE001 - raised again in the process that waits
        send.send(("raised", error))
