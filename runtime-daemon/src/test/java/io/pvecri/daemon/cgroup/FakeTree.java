package io.pvecri.daemon.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A fake {@code /proc} and filesystem root under a temporary directory. */
final class FakeTree {

    /** This build machine: v1 controllers, empty unified hierarchy, cpu and cpuacct separate. */
    static final String HYBRID_MOUNTINFO = """
            24 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
            34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
            37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
            38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
            39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """;

    /** A Proxmox VE 8 host. */
    static final String V2_MOUNTINFO = """
            22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
            35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
            """;

    /** A classic v1-only host with cpu and cpuacct co-mounted and no cgroup2 mount. */
    static final String V1_MOUNTINFO = """
            25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
            27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd
            30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
            31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
            32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpuset
            33 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
            """;

    final Path proc;
    final Path fs;

    FakeTree(Path tmp) {
        this.proc = tmp.resolve("proc");
        this.fs = tmp.resolve("root");
    }

    FakeTree mountinfo(String text) {
        write(proc.resolve("self/mountinfo"), text);
        return this;
    }

    FakeTree pid(long pid, String cgroupFile) {
        write(proc.resolve(pid + "/cgroup"), cgroupFile);
        return this;
    }

    /** Creates {@code absolute} (e.g. "/sys/fs/cgroup/memory/x/memory.stat") under the fake root. */
    Path file(String absolute, String content) {
        Path file = at(absolute);
        write(file, content);
        return file;
    }

    Path dir(String absolute) {
        Path dir = at(absolute);
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path at(String absolute) {
        return fs.resolve(absolute.substring(1));
    }

    CgroupHost host() throws CgroupException {
        return CgroupHost.load(proc, fs);
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
