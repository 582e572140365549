package io.pvecri.daemon.seccomp;

import java.math.BigInteger;
import java.util.List;

/**
 * A seccomp profile file as kubelet's Localhost profiles are written: the OCI runtime-spec
 * {@code LinuxSeccomp} object, with Docker's extensions that containerd also reads ({@code name},
 * {@code archMap}, {@code includes}/{@code excludes}, {@code comment}). Unknown fields are errors:
 * a misspelt {@code syscalls} must not turn into an allow-everything filter.
 */
final class ProfileJson {
    private ProfileJson() {}

    record Profile(String defaultAction, Integer defaultErrnoRet, List<String> architectures, List<ArchMap> archMap,
                   List<String> flags, String listenerPath, String listenerMetadata, List<Syscall> syscalls) {}

    record ArchMap(String architecture, List<String> subArchitectures) {}

    record Syscall(List<String> names, String name, String action, Integer errnoRet, List<Arg> args,
                   Condition includes, Condition excludes, String comment) {}

    record Arg(Integer index, BigInteger value, BigInteger valueTwo, String op) {}

    /** Docker's conditions on a rule: capabilities the container has, architectures, kernel version. */
    record Condition(List<String> caps, List<String> arches, String minKernel) {}
}
