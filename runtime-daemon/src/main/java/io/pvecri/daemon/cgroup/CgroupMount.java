package io.pvecri.daemon.cgroup;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One cgroup filesystem mount from mountinfo.
 *
 * @param root         the cgroup path that is mounted ("/" unless a subtree is bind-mounted)
 * @param mountPoint   where it is mounted, already placed under the filesystem root
 * @param unified      true for {@code cgroup2}, false for a v1 {@code cgroup} hierarchy
 * @param superOptions the per-superblock options; for v1 they name the bound controllers
 */
record CgroupMount(String root, Path mountPoint, boolean unified, Set<String> superOptions) {

    /** Controller names the kernel may bind to a v1 hierarchy. */
    static final Set<String> KNOWN_CONTROLLERS = Set.of(
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio",
            "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc");

    CgroupMount {
        superOptions = Set.copyOf(superOptions);
    }

    /** The real controllers bound to this v1 hierarchy (none for {@code name=systemd} or v2). */
    Set<String> v1Controllers() {
        Set<String> controllers = new TreeSet<>();
        if (!unified) {
            for (String option : superOptions) {
                if (KNOWN_CONTROLLERS.contains(option)) {
                    controllers.add(option);
                }
            }
        }
        return controllers;
    }

    /**
     * Whether this is the v1 hierarchy of a {@code /proc/<pid>/cgroup} line listing
     * {@code controllers} (e.g. {@code cpu,cpuacct} or {@code name=systemd}).
     */
    boolean hostsV1(Set<String> controllers) {
        return !unified && !controllers.isEmpty() && superOptions.containsAll(controllers);
    }

    /**
     * The directory of {@code cgroupPath} (as written in {@code /proc/<pid>/cgroup}) under this
     * mount, or empty when the path lies outside the mounted subtree.
     */
    Optional<Path> resolve(String cgroupPath) {
        if (!cgroupPath.startsWith("/") || hasDotSegment(cgroupPath)) {
            return Optional.empty();
        }
        String relative;
        if (root.equals("/")) {
            relative = cgroupPath.substring(1);
        } else if (cgroupPath.equals(root)) {
            relative = "";
        } else if (cgroupPath.startsWith(root + "/")) {
            relative = cgroupPath.substring(root.length() + 1);
        } else {
            return Optional.empty();
        }
        return Optional.of(relative.isEmpty() ? mountPoint : mountPoint.resolve(relative));
    }

    private static boolean hasDotSegment(String path) {
        for (String segment : path.split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }
}
