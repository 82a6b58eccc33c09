#!/usr/bin/env python3
"""Runs a program with its stdout on a pseudo-terminal, for live tests.

    pty_run.py PROGRAM [ARG...]

haskell-zre's tools are GHC programs: GHC block-buffers stdout unless it is
a terminal, so behind a pipe their events would arrive in 4 KiB lumps (or
never, when the test kills them). This gives the program a pty as stdout,
copies what it writes to our stdout a line at a time (flushed, without the
pty's carriage returns), and leaves its stdin and stderr as they are: the
test's commands reach it through a plain pipe, so an interactive program
(haskell-zre's `zre` reads commands with haskeline) sees no terminal on
stdin and neither echoes nor prompts.

The program dies with us: it gets SIGKILL when this process ends (Linux
PR_SET_PDEATHSIG), so a test that kills this wrapper leaves nothing
behind. SIGTERM and SIGINT are passed on to it. Exits with the program's
status (128 + N when signal N ended it).
"""

import ctypes
import os
import pty
import signal
import sys
import termios

PR_SET_PDEATHSIG = 1


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    argv = sys.argv[1:]
    master, slave = pty.openpty()
    # No "\n" -> "\r\n" on output: lines arrive as the program wrote them.
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)

    pid = os.fork()
    if pid == 0:
        os.close(master)
        die_with_parent()
        os.dup2(slave, 1)
        os.close(slave)
        try:
            os.execvp(argv[0], argv)
        except OSError as err:
            print(f"pty_run: cannot run {argv[0]}: {err}", file=sys.stderr)
            os._exit(127)
    os.close(slave)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    out = sys.stdout.buffer
    pending = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except InterruptedError:
            continue
        except OSError:  # EIO: every writer of the pty has closed it
            break
        if not chunk:
            break
        pending += chunk.replace(b"\r", b"")
        *lines, pending = pending.split(b"\n")
        for line in lines:
            out.write(line + b"\n")
        out.flush()
    if pending:
        out.write(pending + b"\n")
        out.flush()
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
