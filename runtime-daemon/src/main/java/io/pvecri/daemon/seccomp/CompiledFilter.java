package io.pvecri.daemon.seccomp;

import java.util.List;

/**
 * A Localhost profile compiled for the init shim.
 *
 * @param program       struct sock_filter array, as seccomp(2) takes it
 * @param flags         SECCOMP_FILTER_FLAG_* bits for seccomp(2)
 * @param skippedNames  system calls the profile names that this kernel ABI does not have (skipped,
 *                      as libseccomp does, so one profile serves several kernels)
 */
public record CompiledFilter(byte[] program, int flags, List<String> skippedNames) {
    public int instructions() {
        return program.length / 8;
    }
}
