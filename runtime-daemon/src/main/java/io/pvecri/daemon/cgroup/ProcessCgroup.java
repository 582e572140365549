package io.pvecri.daemon.cgroup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The cgroup directories of one process (a container's init), per controller. Controllers
 * bound to a v1 hierarchy use that hierarchy's directory; all others fall back to the
 * process's directory in the unified hierarchy, if one is mounted.
 */
public final class ProcessCgroup {

    private final long pid;
    private final CgroupVersion version;
    private final Map<String, Path> v1Dirs;
    private final Optional<Path> unifiedDir;
    private final CgroupWriter writer;

    ProcessCgroup(long pid, CgroupVersion version, Map<String, Path> v1Dirs, Optional<Path> unifiedDir,
            CgroupWriter writer) {
        this.pid = pid;
        this.version = version;
        this.v1Dirs = Map.copyOf(v1Dirs);
        this.unifiedDir = unifiedDir;
        this.writer = writer;
    }

    public long pid() {
        return pid;
    }

    /** The directory holding {@code controller}'s files (e.g. "memory", "cpu"), if resolvable. */
    public Optional<Path> directory(String controller) {
        return dir(controller).map(ControllerDir::path);
    }

    /** The process's directory in the unified (v2) hierarchy, if one is mounted. */
    public Optional<Path> unifiedDirectory() {
        return unifiedDir;
    }

    /**
     * Current usage. Counters whose files are missing read as 0.
     *
     * @throws CgroupException if none of the process's cgroup directories exists any more
     *                         (the container has gone)
     */
    public CgroupStats stats() throws CgroupException {
        boolean anyExists = v1Dirs.values().stream().anyMatch(Files::isDirectory)
                || unifiedDir.filter(Files::isDirectory).isPresent();
        if (!anyExists) {
            throw new CgroupException("cgroup of pid " + pid + " no longer exists (" + describe() + ")");
        }
        return StatsReader.read(dir("cpuacct"), dir("memory"), dir("pids"));
    }

    /**
     * Writes the non-zero / non-empty fields of {@code r}: CPU, then memory, then cpuset, then
     * unified files. Stops at the first failing write; earlier writes stay in effect.
     *
     * @throws CgroupException naming the file and value that the kernel rejected, or the
     *                         controller that this process has no cgroup for
     */
    public void apply(Resources r) throws CgroupException {
        if (r.hasCpu()) {
            switch (require("cpu", "cpu shares/quota/period")) {
                case ControllerDir.V1 d -> new V1Writer(writer).cpu(d.path(), r);
                case ControllerDir.V2 d -> new V2Writer(writer).cpu(d.path(), r);
            }
        }
        if (r.hasMemory()) {
            switch (require("memory", "memory limit " + r.memoryLimitBytes())) {
                case ControllerDir.V1 d -> new V1Writer(writer).memory(d.path(), r.memoryLimitBytes());
                case ControllerDir.V2 d -> new V2Writer(writer).memory(d.path(), r.memoryLimitBytes());
            }
        }
        if (r.hasCpuset()) {
            switch (require("cpuset", "cpuset '" + r.cpusetCpus() + "'/'" + r.cpusetMems() + "'")) {
                case ControllerDir.V1 d -> new V1Writer(writer).cpuset(d.path(), r.cpusetCpus(), r.cpusetMems());
                case ControllerDir.V2 d -> new V2Writer(writer).cpuset(d.path(), r.cpusetCpus(), r.cpusetMems());
            }
        }
        if (!r.unified().isEmpty()) {
            if (version != CgroupVersion.V2 || unifiedDir.isEmpty()) {
                throw new CgroupException("unified cgroup keys " + r.unified().keySet()
                        + " need a pure cgroup v2 host; this host is " + version);
            }
            new V2Writer(writer).unified(unifiedDir.get(), r.unified());
        }
    }

    Optional<ControllerDir> dir(String controller) {
        Path v1 = v1Dirs.get(controller);
        if (v1 != null) {
            return Optional.of(new ControllerDir.V1(v1));
        }
        return unifiedDir.map(ControllerDir.V2::new);
    }

    private ControllerDir require(String controller, String what) throws CgroupException {
        return dir(controller).orElseThrow(() -> new CgroupException("cannot apply " + what + " to pid "
                + pid + ": it has no " + controller + " cgroup on this host (" + describe() + ")"));
    }

    private String describe() {
        StringBuilder text = new StringBuilder();
        new TreeMap<>(v1Dirs).forEach((c, p) -> text.append(c).append('=').append(p).append(", "));
        unifiedDir.ifPresent(p -> text.append("unified=").append(p).append(", "));
        return text.isEmpty() ? "no cgroup directories" : text.substring(0, text.length() - 2);
    }

    @Override
    public String toString() {
        return "ProcessCgroup[pid=" + pid + ", " + describe() + "]";
    }
}
