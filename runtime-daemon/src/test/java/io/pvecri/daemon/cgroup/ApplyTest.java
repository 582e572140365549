package io.pvecri.daemon.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApplyTest {

    @TempDir
    Path tmp;

    private Path cpu;
    private Path memory;
    private Path cpuset;
    private Path unified;
    private final List<String> writes = new ArrayList<>();

    /** Records "file=value" and also writes the file (which must exist). */
    private final CgroupWriter recorder = (file, value) -> {
        writes.add(file.getFileName() + "=" + value);
        CgroupFiles.write(file, value);
    };

    @BeforeEach
    void tree() throws Exception {
        cpu = Files.createDirectories(tmp.resolve("cpu/lxc.payload.c"));
        memory = Files.createDirectories(tmp.resolve("memory/lxc.payload.c"));
        cpuset = Files.createDirectories(tmp.resolve("cpuset/lxc.payload.c"));
        unified = Files.createDirectories(tmp.resolve("unified/lxc.payload.c"));
        for (String f : List.of("cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us")) {
            Files.writeString(cpu.resolve(f), "0\n");
        }
        Files.writeString(memory.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
        Files.writeString(cpuset.resolve("cpuset.cpus"), "\n");
        Files.writeString(cpuset.resolve("cpuset.mems"), "\n");
        for (String f : List.of("cpu.weight", "memory.max", "cpuset.cpus", "cpuset.mems", "memory.high")) {
            Files.writeString(unified.resolve(f), "\n");
        }
        Files.writeString(unified.resolve("cpu.max"), "max 100000\n");
    }

    private ProcessCgroup v1(CgroupWriter writer) {
        return new ProcessCgroup(1, CgroupVersion.HYBRID,
                Map.of("cpu", cpu, "memory", memory, "cpuset", cpuset), Optional.of(unified), writer);
    }

    private ProcessCgroup v2(CgroupWriter writer) {
        return new ProcessCgroup(1, CgroupVersion.V2, Map.of(), Optional.of(unified), writer);
    }

    private static Resources res(long shares, long quota, long period, long mem, String cpus, String mems) {
        return new Resources(shares, quota, period, mem, cpus, mems, Map.of());
    }

    @Test
    void v1WritesCpuThenMemoryThenCpusetInOrder() throws Exception {
        v1(recorder).apply(res(512, 50_000, 100_000, 256L << 20, "0-1", "0"));
        assertEquals(List.of("cpu.shares=512", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000",
                "memory.limit_in_bytes=268435456", "cpuset.cpus=0-1", "cpuset.mems=0"), writes);
        assertEquals("50000", FakeTree.read(cpu.resolve("cpu.cfs_quota_us")));
        assertEquals("268435456", FakeTree.read(memory.resolve("memory.limit_in_bytes")));
    }

    @Test
    void zeroAndEmptyMeanUnchanged() throws Exception {
        v1(recorder).apply(res(0, 30_000, 0, 0, "", "0"));
        assertEquals(List.of("cpu.cfs_quota_us=30000", "cpuset.mems=0"), writes);
        v1(recorder).apply(Resources.none());
        assertEquals(2, writes.size());
    }

    @Test
    void v1PeriodRejectedBeforeQuotaIsRetriedAfterIt() throws Exception {
        int[] periodAttempts = {0};
        CgroupWriter kernel = (file, value) -> {
            if (file.getFileName().toString().equals("cpu.cfs_period_us") && periodAttempts[0]++ == 0) {
                throw new CgroupException("cannot write '" + value + "' to " + file + ": Invalid argument");
            }
            recorder.write(file, value);
        };
        v1(kernel).apply(res(0, 10_000, 20_000, 0, "", ""));
        assertEquals(List.of("cpu.cfs_quota_us=10000", "cpu.cfs_period_us=20000"), writes);
    }

    @Test
    void v1PeriodFailureWithoutQuotaPropagates() {
        CgroupWriter kernel = (file, value) -> {
            throw new CgroupException("cannot write '" + value + "' to " + file + ": Invalid argument");
        };
        CgroupException e = assertThrows(CgroupException.class, () -> v1(kernel).apply(res(0, 0, 20_000, 0, "", "")));
        assertTrue(e.getMessage().contains("cpu.cfs_period_us") && e.getMessage().contains("20000"));
    }

    @Test
    void v1MemswLoweringWritesLimitFirst() throws Exception {
        Files.writeString(memory.resolve("memory.memsw.limit_in_bytes"), "9223372036854771712\n");
        v1(recorder).apply(res(0, 0, 0, 1 << 30, "", ""));
        assertEquals(List.of("memory.limit_in_bytes=1073741824", "memory.memsw.limit_in_bytes=1073741824"), writes);
    }

    @Test
    void v1MemswRaisingWritesMemswFirst() throws Exception {
        Files.writeString(memory.resolve("memory.limit_in_bytes"), "1073741824\n");
        Files.writeString(memory.resolve("memory.memsw.limit_in_bytes"), "1073741824\n");
        v1(recorder).apply(res(0, 0, 0, 2L << 30, "", ""));
        assertEquals(List.of("memory.memsw.limit_in_bytes=2147483648", "memory.limit_in_bytes=2147483648"), writes);
        writes.clear();
        v1(recorder).apply(res(0, 0, 0, -1, "", ""));
        assertEquals(List.of("memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"), writes);
    }

    @Test
    void v2WritesWeightCpuMaxMemoryMaxAndCpuset() throws Exception {
        v2(recorder).apply(res(1024, 50_000, 100_000, 512L << 20, "2-3", "0"));
        assertEquals(List.of("cpu.weight=39", "cpu.max=50000 100000", "memory.max=536870912",
                "cpuset.cpus=2-3", "cpuset.mems=0"), writes);
        assertEquals("50000 100000", FakeTree.read(unified.resolve("cpu.max")));
    }

    @Test
    void v2CpuMaxVariants() throws Exception {
        v2(recorder).apply(res(0, -1, 100_000, -1, "", ""));
        v2(recorder).apply(res(0, 25_000, 0, 0, "", ""));
        Files.writeString(unified.resolve("cpu.max"), "30000 100000\n");
        v2(recorder).apply(res(0, 0, 50_000, 0, "", ""));
        assertEquals(List.of("cpu.max=max 100000", "memory.max=max", "cpu.max=25000", "cpu.max=30000 50000"),
                writes);
    }

    @Test
    void v2UnifiedKeysAreWrittenAsFiles() throws Exception {
        v2(recorder).apply(new Resources(0, 0, 0, 0, "", "", Map.of("memory.high", "400000000")));
        assertEquals(List.of("memory.high=400000000"), writes);
        assertEquals("400000000", FakeTree.read(unified.resolve("memory.high")));
    }

    @Test
    void unifiedKeysNeedPureV2() {
        Resources r = new Resources(0, 0, 0, 0, "", "", Map.of("memory.high", "1"));
        CgroupException e = assertThrows(CgroupException.class, () -> v1(recorder).apply(r));
        assertTrue(e.getMessage().contains("memory.high") && e.getMessage().contains("HYBRID"), e.getMessage());
    }

    @Test
    void realWriterNamesMissingFileAndValue() {
        ProcessCgroup cg = v2(CgroupWriter.files());
        CgroupException e = assertThrows(CgroupException.class,
                () -> cg.apply(new Resources(0, 0, 0, 0, "", "", Map.of("io.max", "8:0 rbps=1"))));
        assertTrue(e.getMessage().contains("io.max") && e.getMessage().contains("8:0 rbps=1")
                && e.getMessage().contains("does not exist"), e.getMessage());
        assertTrue(Files.notExists(unified.resolve("io.max")), "must never create interface files");
    }

    @Test
    void missingControllerIsNamed() {
        ProcessCgroup cg = new ProcessCgroup(77, CgroupVersion.V1, Map.of("cpu", cpu), Optional.empty(), recorder);
        CgroupException e = assertThrows(CgroupException.class, () -> cg.apply(res(0, 0, 0, 1 << 20, "", "")));
        assertTrue(e.getMessage().contains("memory") && e.getMessage().contains("pid 77"), e.getMessage());
    }

    @Test
    void sharesToWeightMatchesRunc() {
        assertEquals(0, CpuWeight.fromShares(0));
        assertEquals(1, CpuWeight.fromShares(2));
        assertEquals(1, CpuWeight.fromShares(1));
        assertEquals(39, CpuWeight.fromShares(1024));
        assertEquals(4, CpuWeight.fromShares(102));
        assertEquals(10000, CpuWeight.fromShares(262_144));
        assertEquals(10000, CpuWeight.fromShares(1_000_000));
    }
}
