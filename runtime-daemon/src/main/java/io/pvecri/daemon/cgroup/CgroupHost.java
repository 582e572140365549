package io.pvecri.daemon.cgroup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The host's cgroup layout, detected from the cgroup mounts in {@code /proc/self/mountinfo}:
 * <ul>
 *   <li>{@link CgroupVersion#V1}: v1 hierarchies with controllers, no {@code cgroup2} mount;</li>
 *   <li>{@link CgroupVersion#HYBRID}: v1 hierarchies with controllers plus a {@code cgroup2} mount;</li>
 *   <li>{@link CgroupVersion#V2}: a {@code cgroup2} mount and no v1 hierarchy with a controller
 *       (a named hierarchy such as {@code name=systemd} does not count).</li>
 * </ul>
 * A process's directory per controller is its path in {@code /proc/<pid>/cgroup} taken relative to
 * the matching mount's root and placed under that mount's mount point.
 */
public final class CgroupHost {

    private final Path procRoot;
    private final Path fsRoot;
    private final CgroupVersion version;
    private final List<CgroupMount> v1Mounts;
    private final List<CgroupMount> v2Mounts;
    private final Set<String> v1Controllers;
    private final Set<String> v2Controllers;
    private final boolean memswAccounting;

    private CgroupHost(Path procRoot, Path fsRoot, List<CgroupMount> mounts) throws CgroupException {
        this.procRoot = procRoot;
        this.fsRoot = fsRoot;
        this.v1Mounts = mounts.stream().filter(m -> !m.unified()).toList();
        this.v2Mounts = mounts.stream().filter(CgroupMount::unified).toList();
        Set<String> bound = new TreeSet<>();
        v1Mounts.forEach(m -> bound.addAll(m.v1Controllers()));
        this.v1Controllers = Set.copyOf(bound);
        if (!v1Controllers.isEmpty()) {
            this.version = v2Mounts.isEmpty() ? CgroupVersion.V1 : CgroupVersion.HYBRID;
        } else if (!v2Mounts.isEmpty()) {
            this.version = CgroupVersion.V2;
        } else {
            throw new CgroupException("no cgroup filesystem with controllers is mounted according to "
                    + procRoot.resolve("self/mountinfo") + " (mount cgroup2 on /sys/fs/cgroup)");
        }
        this.v2Controllers = v2Mounts.isEmpty() ? Set.of()
                : CgroupFiles.readOptional(v2Mounts.getFirst().mountPoint().resolve("cgroup.controllers"))
                        .stream()
                        .flatMap(text -> Arrays.stream(text.split("\\s+")))
                        .filter(name -> !name.isEmpty())
                        .collect(Collectors.toUnmodifiableSet());
        this.memswAccounting = v1Mounts.stream()
                .filter(m -> m.v1Controllers().contains("memory"))
                .anyMatch(m -> Files.exists(m.mountPoint().resolve("memory.memsw.limit_in_bytes")));
    }

    /** The layout of this machine, from {@code /proc/self/mountinfo}. */
    public static CgroupHost detect() throws CgroupException {
        return load(Path.of("/proc"), Path.of("/"));
    }

    /**
     * The layout described by {@code procRoot/self/mountinfo}, with mount points placed under
     * {@code fsRoot}; {@code ofPid} reads {@code procRoot/<pid>/cgroup}. For tests on fake trees.
     */
    public static CgroupHost load(Path procRoot, Path fsRoot) throws CgroupException {
        Path mountinfo = procRoot.resolve("self").resolve("mountinfo");
        String text = CgroupFiles.read(mountinfo);
        return new CgroupHost(procRoot, fsRoot, MountInfo.cgroupMounts(text, fsRoot));
    }

    public CgroupVersion version() {
        return version;
    }

    /**
     * The cgroup directories of process {@code pid}, or empty if the process does not exist or
     * none of its cgroups is visible through this host's mounts.
     *
     * @throws CgroupException if {@code /proc/<pid>/cgroup} exists but cannot be read or parsed
     */
    public Optional<ProcessCgroup> ofPid(long pid) throws CgroupException {
        Path pidDir = procRoot.resolve(Long.toString(pid));
        Path file = pidDir.resolve("cgroup");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            if (!Files.exists(pidDir)) {
                return Optional.empty(); // exited while we read
            }
            throw new CgroupException("cannot read " + file + ": " + e.getMessage(), e);
        }
        Map<String, Path> v1Dirs = new TreeMap<>();
        Optional<Path> unifiedDir = Optional.empty();
        for (CgroupEntry entry : CgroupEntry.parseFile(text, file.toString())) {
            if (entry.unified()) {
                unifiedDir = resolve(v2Mounts, entry);
            } else {
                Optional<Path> dir = resolve(v1Mounts, entry);
                dir.ifPresent(d -> entry.controllers().forEach(c -> v1Dirs.put(c, d)));
            }
        }
        if (v1Dirs.isEmpty() && unifiedDir.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ProcessCgroup(pid, version, v1Dirs, unifiedDir, CgroupWriter.files()));
    }

    /** Physical memory of the host ({@code MemTotal} in {@code /proc/meminfo}). */
    public long hostMemoryBytes() throws CgroupException {
        Path meminfo = procRoot.resolve("meminfo");
        for (String line : CgroupFiles.read(meminfo).split("\n")) {
            String[] parts = line.strip().split("\\s+");
            if (parts.length >= 2 && parts[0].equals("MemTotal:")) {
                long kib = CgroupFiles.parseLong(parts[1]).orElse(-1);
                if (kib > 0) {
                    return kib * 1024;
                }
            }
        }
        throw new CgroupException("no 'MemTotal: <n> kB' line in " + meminfo);
    }

    /** Number of online CPUs ({@code /sys/devices/system/cpu/online}). */
    public int onlineCpus() throws CgroupException {
        Path online = fsRoot.resolve("sys/devices/system/cpu/online");
        String list = CgroupFiles.read(online);
        int count = CpuList.count(list);
        if (count <= 0) {
            throw new CgroupException("cannot parse CPU list '" + list + "' in " + online);
        }
        return count;
    }

    /**
     * Whether {@code controller} is driven through v1 files ({@link CgroupVersion#V1}) or the
     * unified hierarchy ({@link CgroupVersion#V2}) on this host.
     *
     * @throws CgroupException if the controller is neither bound to a v1 hierarchy nor offered
     *                         by the unified hierarchy of a hybrid host
     */
    CgroupVersion controllerVersion(String controller) throws CgroupException {
        if (version == CgroupVersion.V2) {
            return CgroupVersion.V2;
        }
        if (v1Controllers.contains(controller)) {
            return CgroupVersion.V1;
        }
        if (version == CgroupVersion.HYBRID && v2Controllers.contains(controller)) {
            return CgroupVersion.V2;
        }
        throw new CgroupException("the " + controller + " controller is not mounted on this " + version
                + " host (v1 controllers: " + v1Controllers + ", unified: " + v2Controllers + ")");
    }

    /** Whether v1 swap accounting ({@code memory.memsw.*}) is available. */
    boolean memswAccounting() {
        return memswAccounting;
    }

    private static Optional<Path> resolve(List<CgroupMount> mounts, CgroupEntry entry) {
        for (CgroupMount mount : mounts) {
            if (entry.unified() || mount.hostsV1(entry.controllers())) {
                Optional<Path> dir = mount.resolve(entry.path());
                if (dir.isPresent()) {
                    return dir;
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "CgroupHost[" + version + ", v1=" + v1Controllers + ", unified=" + v2Controllers + "]";
    }
}
