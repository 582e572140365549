package io.pvecri.daemon.cgroup;

/** The cgroup layout of a host, as seen in {@code /proc/self/mountinfo}. */
public enum CgroupVersion {
    /** Only cgroup v1 hierarchies are mounted. */
    V1,
    /** Only the unified (v2) hierarchy is mounted; every controller lives there (e.g. Proxmox VE 8). */
    V2,
    /**
     * Both are mounted and at least one controller is bound to a v1 hierarchy (typically every
     * controller, with an empty unified hierarchy at {@code /sys/fs/cgroup/unified}). Controllers
     * mounted as v1 are driven through v1 files, the rest through the unified hierarchy.
     */
    HYBRID
}
