package io.pvecri.gpu;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The FFM binding, for real, against the C fake libnvidia-ml.so.1. */
class NvmlLibraryTest {

    @TempDir
    Path state;

    FakeNvmlLibrary fake;

    @BeforeEach
    void setUp() {
        fake = FakeNvmlLibrary.get();
    }

    private Nvml load() throws NvmlException {
        return Nvml.load(GpuConfig.defaults(state).withLibraryPath(FakeNvmlLibrary.PATH));
    }

    @Test
    void structLayoutsMatchNvmlHeader() {
        assertEquals(68, NvmlLibrary.PCI_INFO.byteSize());
        assertEquals(36, NvmlLibrary.PCI_INFO.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("busId")));
        assertEquals(24, NvmlLibrary.MEMORY.byteSize());
        assertEquals(8, NvmlLibrary.UTILIZATION.byteSize());
        assertEquals(24, NvmlLibrary.PROCESS_INFO.byteSize());
        assertEquals(8, NvmlLibrary.PROCESS_INFO.byteOffset(
                java.lang.foreign.MemoryLayout.PathElement.groupElement("usedGpuMemory")));
        assertEquals(20, NvmlLibrary.PROCESS_INFO.byteOffset(
                java.lang.foreign.MemoryLayout.PathElement.groupElement("computeInstanceId")));
        assertEquals(32, NvmlLibrary.PROCESS_UTILIZATION.byteSize());
    }

    @Test
    void readsDeviceIdentityMemoryUtilizationAndSensors() throws Exception {
        fake.devices(2).device(1, "GPU-11111111-2222-3333-4444-555555555555", "NVIDIA H100 80GB HBM3", 7,
                "00000000:9A:00.0", 85_520_809_984L);
        fake.memoryUsed(1, 6_000_000_000L).utilization(1, 87, 41).sensors(1, 64, 312_500);
        try (Nvml nvml = load()) {
            assertTrue(nvml.absentReason().isEmpty());
            assertEquals(2, nvml.deviceCount());
            assertEquals("GPU-11111111-2222-3333-4444-555555555555", nvml.uuid(1));
            assertEquals("NVIDIA H100 80GB HBM3", nvml.name(1));
            assertEquals(7, nvml.minorNumber(1));
            assertEquals("00000000:9A:00.0", nvml.pciBusId(1)); // not the (poisoned) legacy field
            assertEquals(new Nvml.Memory(85_520_809_984L, 85_520_809_984L - 6_000_000_000L, 6_000_000_000L),
                    nvml.memoryInfo(1));
            assertEquals(new Nvml.Utilization(87, 41), nvml.utilizationRates(1));
            assertEquals(64, nvml.temperatureCelsius(1));
            assertEquals(312_500, nvml.powerUsageMilliwatts(1));
            assertEquals(FakeNvmlLibrary.uuid(0), nvml.uuid(0));
        }
    }

    @Test
    void listsProcessesWithV3LayoutAndGrowsTheTable() throws Exception {
        int n = 40; // more than the first guess of 16: exercises INSUFFICIENT_SIZE
        long[] pids = new long[n];
        long[] used = new long[n];
        int[] sm = new int[n];
        for (int i = 0; i < n; i++) {
            pids[i] = 1000 + i;
            used[i] = (5L << 30) + i; // > 4 GiB: the high word must come through
            sm[i] = i % 3 == 0 ? 0 : i;
        }
        pids[n - 1] = 4_000_000_000L; // pid is unsigned int
        used[n - 2] = -1; // NVML_VALUE_NOT_AVAILABLE
        fake.devices(1).processes(0, pids, used, sm);
        try (Nvml nvml = load()) {
            List<Nvml.ProcessInfo> procs = nvml.computeRunningProcesses(0);
            assertEquals(n, procs.size());
            assertEquals(new Nvml.ProcessInfo(1000, 5L << 30, -1, -1), procs.getFirst());
            assertEquals(new Nvml.ProcessInfo(1001, (5L << 30) + 1, -1, -1), procs.get(1));
            assertEquals(4_000_000_000L, procs.get(n - 1).pid());
            assertEquals(-1, procs.get(n - 2).usedGpuMemoryBytes());

            List<Nvml.ProcessUtilization> samples = nvml.processUtilization(0, 0);
            assertEquals(n - (n + 2) / 3, samples.size());
            Nvml.ProcessUtilization s = samples.getFirst();
            assertEquals(1001, s.pid());
            assertEquals(1, s.smPercent());
            assertTrue(s.timestampMicros() > 1_600_000_000_000_000L, "timestamp in µs since the epoch");
            assertTrue(nvml.processUtilization(0, Long.MAX_VALUE).isEmpty(), "NOT_FOUND = no newer samples");
        }
    }

    @Test
    void noProcessesIsAnEmptyList() throws Exception {
        fake.devices(1);
        try (Nvml nvml = load()) {
            assertEquals(List.of(), nvml.computeRunningProcesses(0));
        }
    }

    @Test
    void errorsCarryNvmlsOwnMessage() throws Exception {
        fake.devices(2).inject("nvmlDeviceGetMemoryInfo", NvmlReturn.ERROR_GPU_IS_LOST);
        try (Nvml nvml = load()) {
            NvmlException e = assertThrows(NvmlException.class, () -> nvml.memoryInfo(1));
            assertEquals(NvmlReturn.ERROR_GPU_IS_LOST, e.error());
            assertEquals(15, e.code());
            assertEquals("GPU is lost", e.nvmlMessage());
            assertEquals("nvmlDeviceGetMemoryInfo(GPU 1) failed: GPU is lost (NVML_ERROR_GPU_IS_LOST=15)", e.getMessage());
            e = assertThrows(NvmlException.class, () -> nvml.uuid(5));
            assertEquals(NvmlReturn.ERROR_INVALID_ARGUMENT, e.error());
            fake.inject("nvmlDeviceGetTemperature", 4711);
            e = assertThrows(NvmlException.class, () -> nvml.temperatureCelsius(0));
            assertEquals(NvmlReturn.UNKNOWN, e.error());
            assertEquals(4711, e.code());
            assertTrue(e.getMessage().endsWith("(NVML_UNKNOWN=4711)"), e.getMessage());
        }
    }

    @Test
    void closeShutsNvmlDownOnceAndLaterCallsFail() throws Exception {
        fake.devices(1);
        int before = fake.initRefs();
        Nvml nvml = load();
        assertEquals(before + 1, fake.initRefs());
        nvml.close();
        nvml.close();
        assertEquals(before, fake.initRefs());
        assertEquals(1, fake.shutdownCalls());
        NvmlException e = assertThrows(NvmlException.class, () -> nvml.memoryInfo(0));
        assertEquals(NvmlReturn.ERROR_UNINITIALIZED, e.error());
    }

    @Test
    void driverNotLoadedMeansZeroDevicesAndOneLogLine() throws Exception {
        fake.devices(2).inject("nvmlInit_v2", NvmlReturn.ERROR_DRIVER_NOT_LOADED);
        try (LogCapture log = new LogCapture(); Nvml nvml = load()) {
            assertEquals(0, nvml.deviceCount());
            assertTrue(nvml.absentReason().orElseThrow().contains("Driver Not Loaded"), nvml.absentReason().get());
            assertInstanceOf(AbsentNvml.class, nvml);
            List<String> lines = log.messages(Level.ALL);
            assertEquals(1, lines.size(), lines.toString());
            assertTrue(lines.getFirst().startsWith("no NVIDIA GPUs on this node"), lines.getFirst());
        }
    }

    @Test
    void libraryNotFoundFromInitIsAlsoAbsence() throws Exception {
        fake.devices(1).inject("nvmlInit_v2", NvmlReturn.ERROR_LIBRARY_NOT_FOUND);
        try (Nvml nvml = load()) {
            assertEquals(0, nvml.deviceCount());
        }
    }

    @Test
    void otherInitFailuresAreErrors() {
        fake.devices(1).inject("nvmlInit_v2", NvmlReturn.ERROR_NO_PERMISSION);
        NvmlException e = assertThrows(NvmlException.class, this::load);
        assertEquals(NvmlReturn.ERROR_NO_PERMISSION, e.error());
        assertTrue(e.getMessage().contains("Insufficient Permissions"), e.getMessage());
    }

    @Test
    void foundInTheSearchDirs(@TempDir Path empty) throws Exception {
        fake.devices(3);
        GpuConfig config = GpuConfig.defaults(state)
                .withSearchDirs(List.of(empty, FakeNvmlLibrary.PATH.getParent()), List.of(), false);
        try (Nvml nvml = Nvml.load(config)) {
            assertEquals(3, nvml.deviceCount());
        }
    }

    @Test
    void olderDriverWithoutProcessUtilizationBindsAndSaysFunctionNotFound() throws Exception {
        FakeNvmlLibrary.get(FakeNvmlLibrary.OLD_PATH).devices(1); // a separate library with its own state
        GpuConfig config = GpuConfig.defaults(state).withLibraryPath(FakeNvmlLibrary.OLD_PATH);
        try (Nvml nvml = Nvml.load(config)) {
            assertEquals(1, nvml.deviceCount());
            NvmlException e = assertThrows(NvmlException.class, () -> nvml.processUtilization(0, 0));
            assertEquals(NvmlReturn.ERROR_FUNCTION_NOT_FOUND, e.error());
        }
    }
}
