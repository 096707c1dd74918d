"""Runs a command as the child of a subreaper, to find what it leaves behind when killed.

    python3 subreaper.py KILL_AFTER COMMAND [ARG...]

Every process the command starts that outlives it (its orphans) is re-parented to this one
(PR_SET_CHILD_SUBREAPER) rather than to init, so this process can tell exactly which are left.
The command gets /dev/null as stdin and stdout and a file as stderr. It is killed with SIGKILL
once it has run for KILL_AFTER seconds (a negative number: never), or when a line "kill" comes
on stdin; killed here, where its pid cannot have been reused, since only this process reaps it.
On stdout:

    pid N          the command runs as process N
    exit STATUS    it ended: an exit status, or "signal N"
    stderr TEXT    what it wrote to stderr, as a JSON string

Orphans that exit meanwhile are reaped at once, as init would (a container's pid namespace ends
only once every process in it is reaped, and some may be ours). After a line "reap SECONDS" on
stdin (or its end: no wait), it waits up to SECONDS for the other orphans to exit:

    left none           none outlived the wait
    left PID:NAME,...   these did; they are then killed with SIGKILL and reaped
"""
import ctypes
import json
import os
import select
import signal
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"subreaper: prctl: {os.strerror(ctypes.get_errno())}")
    kill_after = float(sys.argv[1])
    errors = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(errors.fileno(), 2)
        os.execvp(sys.argv[2], sys.argv[2:])
    say(f"pid {pid}")
    requests = Lines(0)
    command = os.pidfd_open(pid)
    deadline = time.monotonic() + kill_after if kill_after >= 0 else None
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([command, requests.fd], [], [], timeout)
        if command in ready:
            break
        if ready and requests.next() not in ("kill", None):
            continue
        os.kill(pid, signal.SIGKILL)
        deadline = None
    _, status = os.waitpid(pid, 0)
    say(f"exit {status >> 8}" if os.WIFEXITED(status) else f"exit signal {os.WTERMSIG(status)}")
    errors.seek(0)
    say("stderr " + json.dumps(errors.read(4096).decode(errors="replace")))

    woken, wake = os.pipe()
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    reap()
    while True:
        ready, _, _ = select.select([requests.fd, woken], [], [])
        if woken in ready:
            os.read(woken, 512)
            reap()
        if requests.fd in ready:
            break
    request = requests.next()
    while request == "kill":  # too late: it ended meanwhile
        request = requests.next()
    deadline = time.monotonic() + float((request or "reap 0").split()[1])
    while children() and time.monotonic() < deadline:
        reap()
        time.sleep(0.01)
    left = children()
    say("left " + (",".join(f"{child}:{name(child)}" for child in left) or "none"))
    for child in left:
        os.kill(child, signal.SIGKILL)
    while children():
        reap()
        time.sleep(0.01)


class Lines:
    """Lines from a file descriptor, read unbuffered (select then sees each one coming)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def next(self) -> str | None:
        """The next line, or None at the end."""
        line = b""
        while not line.endswith(b"\n"):
            byte = os.read(self.fd, 1)
            if not byte:
                return None
            line += byte
        return line.decode().strip()


def say(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # the caller is gone: the orphans are still reaped


def reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def children() -> list[int]:
    """Our children not reaped yet (zombies included), from /proc: this kernel has no
    /proc/PID/task/TID/children."""
    me = str(os.getpid())
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and ppid(p) == me]


def ppid(pid: str) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


def name(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
    except FileNotFoundError:
        return "?"


main()
