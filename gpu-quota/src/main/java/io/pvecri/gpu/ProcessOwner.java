package io.pvecri.gpu;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;

/**
 * Maps a host PID (as NVML reports it) to the CRI container it belongs to. The daemon supplies
 * it, since only the daemon knows how its containers' cgroups are named.
 */
@FunctionalInterface
public interface ProcessOwner {

    /** The container id of {@code pid}, empty when it is no container's (or is gone). */
    Optional<String> containerOf(long pid);

    /** Knows no process: all usage is reported as unattributed. */
    static ProcessOwner none() {
        return pid -> Optional.empty();
    }

    /**
     * Reads {@code /proc/<pid>/cgroup} and hands each cgroup path in it (the v2 path, or each
     * v1 hierarchy's) to {@code containerOfCgroup}; the first container found wins.
     */
    static ProcessOwner fromCgroups(Function<String, Optional<String>> containerOfCgroup) {
        return new CgroupProcessOwner(Path.of("/proc"), containerOfCgroup);
    }

    /** As {@link #fromCgroups(Function)}, with another proc root (tests, containers with /host/proc). */
    static ProcessOwner fromCgroups(Path procDir, Function<String, Optional<String>> containerOfCgroup) {
        return new CgroupProcessOwner(procDir, containerOfCgroup);
    }
}
