package io.pvecri.daemon.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatsTest {

    @TempDir
    Path tmp;

    private static final String PAYLOAD = """
            8:pids:/lxc.payload.web
            4:memory:/process_api/abc/lxc.payload.web
            3:cpuset:/lxc.payload.web
            2:cpuacct:/lxc.payload.web
            1:cpu:/lxc.payload.web
            0::/lxc.payload.web
            """;

    @Test
    void readsV1Stats() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO).pid(10, PAYLOAD);
        tree.file("/sys/fs/cgroup/cpuacct/lxc.payload.web/cpuacct.usage", "123456789\n");
        String mem = "/sys/fs/cgroup/memory/process_api/abc/lxc.payload.web/";
        tree.file(mem + "memory.usage_in_bytes", "10485760\n");
        tree.file(mem + "memory.limit_in_bytes", "67108864\n");
        tree.file(mem + "memory.stat", """
                cache 393216
                rss 1
                inactive_file 5
                pgfault 7
                total_cache 393216
                total_rss 1724416
                total_pgfault 27994
                total_pgmajfault 9
                total_inactive_file 2097152
                """);
        tree.file(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        tree.file("/sys/fs/cgroup/pids/lxc.payload.web/pids.current", "3\n");

        CgroupStats stats = tree.host().ofPid(10).orElseThrow().stats();

        assertEquals(new CgroupStats(123456789, 10485760, 10485760 - 2097152, 1724416, 27994, 9,
                67108864, OptionalLong.of(2), 3), stats);
        assertEquals(OptionalLong.of(67108864 - (10485760 - 2097152)), stats.availableBytes());
    }

    @Test
    void v1UnlimitedAndOldKernelWithoutOomKill() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO).pid(10, PAYLOAD);
        String mem = "/sys/fs/cgroup/memory/process_api/abc/lxc.payload.web/";
        tree.file(mem + "memory.limit_in_bytes", "9223372036854771712\n");
        tree.file(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
        CgroupStats stats = tree.host().ofPid(10).orElseThrow().stats();
        assertEquals(0, stats.memoryLimitBytes());
        assertEquals(OptionalLong.empty(), stats.oomKills());
        assertEquals(OptionalLong.empty(), stats.availableBytes());
    }

    @Test
    void readsV2Stats() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(20, "0::/lxc.payload.db\n");
        String dir = "/sys/fs/cgroup/lxc.payload.db/";
        tree.file(dir + "cpu.stat", """
                usage_usec 2500000
                user_usec 2000000
                system_usec 500000
                nr_periods 0
                """);
        tree.file(dir + "memory.current", "50000000\n");
        tree.file(dir + "memory.max", "max\n");
        tree.file(dir + "memory.stat", """
                anon 30000000
                file 20000000
                inactive_anon 100
                active_anon 200
                inactive_file 15000000
                active_file 5000000
                pgfault 4242
                pgmajfault 17
                """);
        tree.file(dir + "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n");
        tree.file(dir + "pids.current", "12\n");

        CgroupStats stats = tree.host().ofPid(20).orElseThrow().stats();

        assertEquals(new CgroupStats(2_500_000_000L, 50_000_000, 35_000_000, 30_000_000, 4242, 17,
                0, OptionalLong.of(1), 12), stats);
    }

    @Test
    void v2LimitIsReported() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(20, "0::/c\n");
        tree.file("/sys/fs/cgroup/c/memory.max", "268435456\n");
        assertEquals(268435456, tree.host().ofPid(20).orElseThrow().stats().memoryLimitBytes());
    }

    @Test
    void workingSetIsFlooredAtZero() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(20, "0::/c\n");
        tree.file("/sys/fs/cgroup/c/memory.current", "1000\n");
        tree.file("/sys/fs/cgroup/c/memory.stat", "inactive_file 4096\n");
        CgroupStats stats = tree.host().ofPid(20).orElseThrow().stats();
        assertEquals(1000, stats.memoryUsageBytes());
        assertEquals(0, stats.workingSetBytes());
    }

    @Test
    void missingFilesReadAsZero() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(20, "0::/empty\n");
        tree.dir("/sys/fs/cgroup/empty");
        tree.file("/sys/fs/cgroup/empty/memory.stat", "garbage line here\nanon notanumber\n");
        assertEquals(new CgroupStats(0, 0, 0, 0, 0, 0, 0, OptionalLong.empty(), 0),
                tree.host().ofPid(20).orElseThrow().stats());
    }

    @Test
    void goneCgroupIsAnError() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(20, "0::/gone\n");
        ProcessCgroup cg = tree.host().ofPid(20).orElseThrow();
        CgroupException e = assertThrows(CgroupException.class, cg::stats);
        assertTrue(e.getMessage().contains("pid 20") && e.getMessage().contains("gone"), e.getMessage());
    }

    @Test
    void hugeCountersSaturate() {
        assertEquals(OptionalLong.of(Long.MAX_VALUE), CgroupFiles.parseLong("18446744073709551615"));
        assertEquals(OptionalLong.empty(), CgroupFiles.parseLong("max"));
    }
}
