package io.pvecri.daemon.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LxcCgroupKeysTest {

    @TempDir
    Path tmp;

    private static final Resources ALL = new Resources(1024, 50_000, 100_000, 256L << 20, "0-1", "0", Map.of());

    private CgroupHost hybrid(boolean memsw) throws CgroupException {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO);
        if (memsw) {
            tree.file("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
        }
        return tree.host();
    }

    private CgroupHost v2() throws CgroupException {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO);
        tree.file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
        return tree.host();
    }

    @Test
    void hybridUsesV1KeysWithMemsw() throws Exception {
        assertEquals(List.of(
                "lxc.cgroup.cpu.shares = 1024",
                "lxc.cgroup.cpu.cfs_period_us = 100000",
                "lxc.cgroup.cpu.cfs_quota_us = 50000",
                "lxc.cgroup.memory.limit_in_bytes = 268435456",
                "lxc.cgroup.memory.memsw.limit_in_bytes = 268435456",
                "lxc.cgroup.cpuset.cpus = 0-1",
                "lxc.cgroup.cpuset.mems = 0"), LxcCgroupKeys.lines(hybrid(true), ALL));
    }

    @Test
    void noMemswLineWithoutSwapAccounting() throws Exception {
        assertEquals(List.of("lxc.cgroup.memory.limit_in_bytes = 1048576"),
                LxcCgroupKeys.lines(hybrid(false), new Resources(0, 0, 0, 1 << 20, "", "", Map.of())));
    }

    @Test
    void v2UsesCgroup2Keys() throws Exception {
        Resources r = new Resources(1024, 50_000, 100_000, 256L << 20, "0-1", "",
                Map.of("memory.high", "200000000", "cpu.idle", "0"));
        assertEquals(List.of(
                "lxc.cgroup2.cpu.weight = 39",
                "lxc.cgroup2.cpu.max = 50000 100000",
                "lxc.cgroup2.memory.max = 268435456",
                "lxc.cgroup2.cpuset.cpus = 0-1",
                "lxc.cgroup2.cpu.idle = 0",
                "lxc.cgroup2.memory.high = 200000000"), LxcCgroupKeys.lines(v2(), r));
    }

    @Test
    void v2UnlimitedAndPeriodOnly() throws Exception {
        assertEquals(List.of("lxc.cgroup2.cpu.max = max 50000", "lxc.cgroup2.memory.max = max"),
                LxcCgroupKeys.lines(v2(), new Resources(0, 0, 50_000, -1, "", "", Map.of())));
        assertEquals(List.of("lxc.cgroup2.cpu.max = 20000"),
                LxcCgroupKeys.lines(v2(), new Resources(0, 20_000, 0, 0, "", "", Map.of())));
    }

    @Test
    void nothingRequestedGivesNoLines() throws Exception {
        assertEquals(List.of(), LxcCgroupKeys.lines(v2(), Resources.none()));
    }

    @Test
    void hybridControllerOfferedOnlyByUnifiedUsesCgroup2Key() throws Exception {
        String mountinfo = """
                32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct
                35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
                41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
                """;
        FakeTree tree = new FakeTree(tmp).mountinfo(mountinfo);
        tree.file("/sys/fs/cgroup/unified/cgroup.controllers", "cpuset\n");
        assertEquals(List.of("lxc.cgroup.cpu.shares = 2", "lxc.cgroup2.cpuset.cpus = 1"),
                LxcCgroupKeys.lines(tree.host(), new Resources(2, 0, 0, 0, "1", "", Map.of())));
    }

    @Test
    void unavailableControllerAndUnifiedOnHybridFail() throws Exception {
        CgroupHost host = new FakeTree(tmp).mountinfo("""
                32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct
                41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
                """).host();
        CgroupException e = assertThrows(CgroupException.class,
                () -> LxcCgroupKeys.lines(host, new Resources(0, 0, 0, 1 << 20, "", "", Map.of())));
        assertTrue(e.getMessage().contains("memory controller"), e.getMessage());
        e = assertThrows(CgroupException.class,
                () -> LxcCgroupKeys.lines(host, new Resources(0, 0, 0, 0, "", "", Map.of("memory.high", "1"))));
        assertTrue(e.getMessage().contains("memory.high"), e.getMessage());
    }
}
