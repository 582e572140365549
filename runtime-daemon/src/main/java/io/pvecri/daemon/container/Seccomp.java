package io.pvecri.daemon.container;

import io.pvecri.daemon.seccomp.CompiledFilter;

import java.nio.file.Path;

/** The seccomp filter a container's processes run under (CRI SecurityProfile, applied by the shim). */
sealed interface Seccomp {
    /** No filter (Unconfined, an empty profile, or a privileged container). */
    record Unconfined() implements Seccomp {}

    /** pve-cri's RuntimeDefault filter, compiled into the shim. */
    record RuntimeDefault() implements Seccomp {}

    /** A Localhost profile, compiled when the container was created. */
    record Localhost(Path profile, CompiledFilter filter) implements Seccomp {}
}
