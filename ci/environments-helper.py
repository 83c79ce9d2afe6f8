#!/usr/bin/env python3
"""Two small processes ci/environments.sh needs and the suite has no mode for (std library only).

  environments-helper.py hold BYTES READY_FILE
      Creates an io_uring and registers BYTES of anonymous memory as one fixed buffer, so the
      pages are charged to this uid's locked memory (io_uring/rsrc.c io_account_mem ->
      __io_account_mem adds to user->locked_vm unless CAP_IPC_LOCK), writes READY_FILE, and
      holds them until SIGTERM or SIGINT. Run it as the uid whose quota it should take.
  environments-helper.py seccomp -- COMMAND [ARG...]
      Execs COMMAND under a seccomp filter that answers EPERM to io_uring_setup, _enter and
      _register (425-427 on every architecture since 5.1), as Docker's default profile does.

Exit status: 0 after SIGTERM/SIGINT (hold), 1 a system call failed (the message names it),
2 bad arguments.
"""

import ctypes
import errno
import mmap
import os
import signal
import sys

SYS_IO_URING_SETUP = 425
SYS_IO_URING_REGISTER = 427
IORING_REGISTER_BUFFERS = 0
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def fail(what):
    e = ctypes.get_errno()
    print(f"environments-helper: {what}: {errno.errorcode.get(e, e)}", file=sys.stderr)
    sys.exit(1)


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def hold(nbytes, ready_file):
    params = ctypes.create_string_buffer(120)  # struct io_uring_params, all zero
    fd = libc.syscall(SYS_IO_URING_SETUP, ctypes.c_uint(4), params)
    if fd < 0:
        fail("io_uring_setup")
    region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    iov = Iovec(ctypes.addressof(ctypes.c_char.from_buffer(region)), nbytes)
    if libc.syscall(SYS_IO_URING_REGISTER, ctypes.c_int(fd), ctypes.c_uint(IORING_REGISTER_BUFFERS),
                    ctypes.byref(iov), ctypes.c_uint(1)) < 0:
        fail(f"IORING_REGISTER_BUFFERS of {nbytes} bytes")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(ready_file, "w") as f:
        f.write(f"{os.getpid()}\n")
    while not stop:
        signal.pause()
    os.close(fd)  # the ring's teardown unaccounts the buffer


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def seccomp_exec(argv):
    ld_nr, jge, jgt, ret = 0x20, 0x35, 0x25, 0x06
    prog = (SockFilter * 5)(
        SockFilter(ld_nr, 0, 0, 0),  # A = seccomp_data.nr
        SockFilter(jge, 0, 2, SYS_IO_URING_SETUP),  # below 425: allow
        SockFilter(jgt, 1, 0, SYS_IO_URING_REGISTER),  # above 427: allow
        SockFilter(ret, 0, 0, 0x00050000 | errno.EPERM),  # SECCOMP_RET_ERRNO | EPERM
        SockFilter(ret, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
    )
    fprog = SockFprog(len(prog), prog)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        fail("prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        fail("prctl(PR_SET_SECCOMP)")
    os.execvp(argv[0], argv)


def main(args):
    if len(args) == 3 and args[0] == "hold" and args[1].isdigit() and int(args[1]) > 0:
        hold(int(args[1]), args[2])
    elif len(args) >= 3 and args[0] == "seccomp" and args[1] == "--":
        seccomp_exec(args[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
