"""The last step of a worker's sandbox: give up every privilege, for good, before student code runs.

After its namespaces and file system are set up (sandbox.py), a worker needs no privilege at all.
It drops every capability (bounding and ambient sets too), sets `no_new_privs` so that nothing it
executes can gain any back, and installs a seccomp filter that refuses the system calls a worker
would need to undo its sandbox or reach the kernel's rarer corners: new namespaces (`unshare`,
`setns`, `clone` with namespace flags), mounts, `pivot_root`, `chroot`, `ptrace`, BPF, perf, keys,
kernel modules. Each step is tried and reported, like the namespaces.
"""
from __future__ import annotations

import ctypes
import errno
import platform
import struct

PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
CAPABILITY_VERSION_3 = 0x20080522
NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME

# Per architecture: the audit value seccomp sees, and the numbers of the calls refused.
_CALLS = {
    "x86_64": (0xC000003E, {
        "clone": 56, "clone3": 435, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "unshare": 272, "setns": 308, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
        "request_key": 249, "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
        "kexec_file_load": 320, "reboot": 169, "swapon": 167, "swapoff": 168, "sethostname": 170,
        "setdomainname": 171, "io_uring_setup": 425}),
    "aarch64": (0xC00000B7, {
        "clone": 220, "clone3": 435, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "unshare": 97, "setns": 268, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
        "request_key": 218, "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "reboot": 142, "swapon": 224, "swapoff": 225, "sethostname": 161,
        "setdomainname": 162, "io_uring_setup": 425}),
}
_FIRST_FOREIGN_CALL = 0x40000000  # x32 calls on x86_64: the same calls under other numbers

# classic BPF, as seccomp runs it
_LOAD_WORD, _JUMP_EQUAL, _JUMP_AT_LEAST, _JUMP_ANY_BIT, _RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg 0's low word on little-endian machines)

_libc = ctypes.CDLL(None, use_errno=True)


def lock_down() -> list[str]:
    """Drop privileges in the calling process (and so in all it starts); the steps that took effect."""
    done = []
    if _drop_capabilities():
        done.append("capabilities")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        done.append("no_new_privs")
        if _install_filter():  # without no_new_privs, only a privileged process may install one
            done.append("seccomp")
    return done


def drop_bounding_set() -> None:
    """Capabilities that nothing started from here may ever gain (needs CAP_SETPCAP: call while root)."""
    for capability in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows


def _drop_capabilities() -> bool:
    drop_bounding_set()
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("Ii", CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two sets of (effective, permitted, inheritable), all empty
    return _libc.capset(header, data) == 0


def filter_program(machine: str) -> bytes | None:
    """The seccomp program for `machine` as bytes of struct sock_filter; None on a machine we do not know.

    Calls from another architecture (i386 or x32 on x86_64) are refused whole: a deny list by number
    would miss them. `clone3` answers ENOSYS so that C libraries fall back to `clone`, whose flags,
    unlike clone3's, the filter can read."""
    if machine not in _CALLS:
        return None
    arch, calls = _CALLS[machine]
    refused = [number for name, number in calls.items() if name not in ("clone", "clone3")]
    # (code, jump if true, jump if false, k), jumps counted in instructions after this one
    program = [(_LOAD_WORD, 0, 0, _ARCH), (_JUMP_EQUAL, 1, 0, arch), (_RETURN, 0, 0, _ERRNO | errno.EPERM),
               (_LOAD_WORD, 0, 0, _NR), (_JUMP_AT_LEAST, 0, 1, _FIRST_FOREIGN_CALL),
               (_RETURN, 0, 0, _ERRNO | errno.EPERM)]
    for number in refused:
        program += [(_JUMP_EQUAL, 0, 1, number), (_RETURN, 0, 0, _ERRNO | errno.EPERM)]
    program += [(_JUMP_EQUAL, 0, 1, calls["clone3"]), (_RETURN, 0, 0, _ERRNO | errno.ENOSYS),
                (_JUMP_EQUAL, 0, 3, calls["clone"]), (_LOAD_WORD, 0, 0, _ARG0),
                (_JUMP_ANY_BIT, 0, 1, NAMESPACE_FLAGS), (_RETURN, 0, 0, _ERRNO | errno.EPERM),
                (_RETURN, 0, 0, _ALLOW)]
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program)


def _install_filter() -> bool:
    program = filter_program(platform.machine())
    if program is None:
        return False
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HxxxxxxP", len(program) // 8, ctypes.addressof(buffer))
    return _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p(fprog), 0, 0) == 0
