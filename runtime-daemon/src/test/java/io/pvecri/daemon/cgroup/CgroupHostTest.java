package io.pvecri.daemon.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupHostTest {

    @TempDir
    Path tmp;

    /** /proc/self/cgroup of a process on this build machine. */
    private static final String NESTED_MEMORY = """
            9:name=systemd:/
            8:pids:/
            7:blkio:/
            6:freezer:/
            5:devices:/
            4:memory:/process_api/96646a36dec14b601c54074ac8b0d92a
            3:cpuset:/
            2:cpuacct:/
            1:cpu:/
            0::/
            """;

    @Test
    void detectsHybridFromThisMachinesMountinfo() throws Exception {
        CgroupHost host = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO).host();
        assertEquals(CgroupVersion.HYBRID, host.version());
        assertEquals(CgroupVersion.V1, host.controllerVersion("memory"));
        assertEquals(CgroupVersion.V1, host.controllerVersion("cpuacct"));
    }

    @Test
    void detectsPureV2() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO);
        tree.file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        assertEquals(CgroupVersion.V2, tree.host().version());
    }

    @Test
    void detectsV1WhenNoCgroup2IsMounted() throws Exception {
        assertEquals(CgroupVersion.V1, new FakeTree(tmp).mountinfo(FakeTree.V1_MOUNTINFO).host().version());
    }

    @Test
    void namedHierarchyAloneDoesNotMakeAHostV1() throws Exception {
        String text = FakeTree.V2_MOUNTINFO
                + "40 35 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n";
        assertEquals(CgroupVersion.V2, new FakeTree(tmp).mountinfo(text).host().version());
    }

    @Test
    void noCgroupMountIsAnError() {
        FakeTree tree = new FakeTree(tmp)
                .mountinfo("22 28 0:21 / /proc rw,nosuid - proc proc rw\n");
        CgroupException e = assertThrows(CgroupException.class, tree::host);
        assertTrue(e.getMessage().contains("mountinfo"), e.getMessage());
    }

    @Test
    void missingMountinfoNamesTheFile() {
        CgroupException e = assertThrows(CgroupException.class, () -> new FakeTree(tmp).host());
        assertTrue(e.getMessage().contains("self/mountinfo"), e.getMessage());
    }

    @Test
    void resolvesNestedMemoryCgroupPerController() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO).pid(42, NESTED_MEMORY);
        ProcessCgroup cg = tree.host().ofPid(42).orElseThrow();
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/memory/process_api/96646a36dec14b601c54074ac8b0d92a")),
                cg.directory("memory"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/cpuset")), cg.directory("cpuset"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/cpuacct")), cg.directory("cpuacct"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/systemd")), cg.directory("name=systemd"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/unified")), cg.unifiedDirectory());
        assertEquals(new ControllerDir.V1(tree.at("/sys/fs/cgroup/pids")), cg.dir("pids").orElseThrow());
        // a controller with no v1 hierarchy falls back to the (empty) unified hierarchy
        assertEquals(new ControllerDir.V2(tree.at("/sys/fs/cgroup/unified")), cg.dir("hugetlb").orElseThrow());
    }

    @Test
    void resolvesLxcPayloadPathsOfThisMachine() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO).pid(4242, """
                9:name=systemd:/lxc.payload.web
                8:pids:/lxc.payload.web
                4:memory:/process_api/96646a36dec14b601c54074ac8b0d92a/lxc.payload.web
                3:cpuset:/lxc.payload.web
                2:cpuacct:/lxc.payload.web
                1:cpu:/lxc.payload.web
                0::/lxc.payload.web
                """);
        ProcessCgroup cg = tree.host().ofPid(4242).orElseThrow();
        assertEquals(4242, cg.pid());
        assertEquals(Optional.of(tree.at(
                        "/sys/fs/cgroup/memory/process_api/96646a36dec14b601c54074ac8b0d92a/lxc.payload.web")),
                cg.directory("memory"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/cpuset/lxc.payload.web")), cg.directory("cpuset"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/cpu/lxc.payload.web")), cg.directory("cpu"));
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/unified/lxc.payload.web")), cg.unifiedDirectory());
    }

    @Test
    void resolvesCoMountedControllersOnV1() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V1_MOUNTINFO).pid(7, """
                5:pids:/lxc.payload.a
                4:cpuset:/lxc.payload.a
                3:memory:/lxc.payload.a
                2:cpu,cpuacct:/lxc.payload.a
                1:name=systemd:/lxc.payload.a
                0::/lxc.payload.a
                """);
        ProcessCgroup cg = tree.host().ofPid(7).orElseThrow();
        Path cpu = tree.at("/sys/fs/cgroup/cpu,cpuacct/lxc.payload.a");
        assertEquals(Optional.of(cpu), cg.directory("cpu"));
        assertEquals(Optional.of(cpu), cg.directory("cpuacct"));
        assertEquals(Optional.empty(), cg.unifiedDirectory());
        assertEquals(Optional.empty(), cg.directory("hugetlb"));
    }

    @Test
    void resolvesPureV2ContainerUnderTheDaemonsService() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO)
                .pid(99, "0::/system.slice/pve-cri.service/lxc.payload.web\n");
        ProcessCgroup cg = tree.host().ofPid(99).orElseThrow();
        Path dir = tree.at("/sys/fs/cgroup/system.slice/pve-cri.service/lxc.payload.web");
        assertEquals(Optional.of(dir), cg.directory("memory"));
        assertEquals(Optional.of(dir), cg.directory("cpu"));
        assertEquals(new ControllerDir.V2(dir), cg.dir("cpuset").orElseThrow());
    }

    @Test
    void mountRootOtherThanSlashIsStripped() throws Exception {
        String mountinfo = """
                100 99 0:30 /lxc/100 /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw
                101 99 0:32 /lxc/100 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
                """;
        FakeTree tree = new FakeTree(tmp).mountinfo(mountinfo)
                .pid(5, "3:memory:/lxc/100/pod/c1\n0::/lxc/100/pod/c1\n")
                .pid(6, "3:memory:/lxc/100\n0::/lxc/100\n")
                .pid(8, "3:memory:/lxc/1000/x\n0::/other\n");
        CgroupHost host = tree.host();
        ProcessCgroup c1 = host.ofPid(5).orElseThrow();
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/pod/c1")), c1.unifiedDirectory());
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/memory/pod/c1")), c1.directory("memory"));
        ProcessCgroup top = host.ofPid(6).orElseThrow();
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup")), top.unifiedDirectory());
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/memory")), top.directory("memory"));
        // "/lxc/1000" only shares a string prefix with the mounted "/lxc/100"
        assertTrue(host.ofPid(8).isEmpty());
    }

    @Test
    void escapedMountPointsAreDecoded() {
        String text = "50 31 0:40 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n";
        CgroupMount mount = MountInfo.cgroupMounts(text, Path.of("/")).getFirst();
        assertEquals(Path.of("/mnt/my cgroups"), mount.mountPoint());
        assertTrue(mount.unified());
        assertEquals("a\\b", MountInfo.unescape("a\\134b"));
        assertEquals("trailing\\04", MountInfo.unescape("trailing\\04"));
    }

    @Test
    void parsesSuperOptionsAsControllers() {
        CgroupMount mount = MountInfo.cgroupMounts(FakeTree.V1_MOUNTINFO, Path.of("/")).get(1);
        assertEquals(java.util.Set.of("cpu", "cpuacct"), mount.v1Controllers());
        assertTrue(mount.hostsV1(java.util.Set.of("cpu", "cpuacct")));
        assertFalse(mount.hostsV1(java.util.Set.of("memory")));
        assertEquals(6 - 1, MountInfo.cgroupMounts(FakeTree.V1_MOUNTINFO, Path.of("/")).size());
    }

    @Test
    void deletedCgroupSuffixIsStripped() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(3, "0::/gone (deleted)\n");
        assertEquals(Optional.of(tree.at("/sys/fs/cgroup/gone")), tree.host().ofPid(3).orElseThrow().unifiedDirectory());
    }

    @Test
    void pathsEscapingTheNamespaceAreNotResolved() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(3, "0::/../outside\n");
        assertTrue(tree.host().ofPid(3).isEmpty());
    }

    @Test
    void unknownPidIsEmpty() throws Exception {
        assertTrue(new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).host().ofPid(12345).isEmpty());
    }

    @Test
    void malformedProcCgroupNamesTheFile() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).pid(3, "garbage\n");
        CgroupException e = assertThrows(CgroupException.class, () -> tree.host().ofPid(3));
        assertTrue(e.getMessage().contains("3/cgroup") && e.getMessage().contains("garbage"), e.getMessage());
    }

    @Test
    void hybridControllerOnlyInUnifiedIsV2AndUnknownOneFails() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.HYBRID_MOUNTINFO);
        tree.file("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
        CgroupHost host = tree.host();
        assertEquals(CgroupVersion.V2, host.controllerVersion("hugetlb"));
        CgroupException e = assertThrows(CgroupException.class, () -> host.controllerVersion("rdma"));
        assertTrue(e.getMessage().contains("rdma"), e.getMessage());
    }

    @Test
    void hostMemoryAndCpus() throws Exception {
        FakeTree tree = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO);
        tree.file("/sys/devices/system/cpu/online", "0-3,6,8-9\n");
        java.nio.file.Files.writeString(tree.proc.resolve("meminfo"),
                "MemTotal:       16384000 kB\nMemFree:         1000 kB\n");
        CgroupHost host = tree.host();
        assertEquals(16_384_000L * 1024, host.hostMemoryBytes());
        assertEquals(7, host.onlineCpus());
    }

    @Test
    void hostHelpersNameMissingFiles() throws Exception {
        CgroupHost host = new FakeTree(tmp).mountinfo(FakeTree.V2_MOUNTINFO).host();
        assertTrue(assertThrows(CgroupException.class, host::hostMemoryBytes).getMessage().contains("meminfo"));
        assertTrue(assertThrows(CgroupException.class, host::onlineCpus).getMessage().contains("cpu/online"));
    }
}
