package io.pvecri.gpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A host without libnvidia-ml.so.1: zero devices, one log line, everything else works. */
class NoGpuHostTest {

    @TempDir
    Path dir;

    private GpuConfig noLibrary() {
        return GpuConfig.defaults(dir.resolve("state")).withLibraryPath(dir.resolve("nowhere/libnvidia-ml.so.1"));
    }

    @Test
    void absentLibraryIsZeroDevicesWithOneLogLine() throws Exception {
        try (LogCapture log = new LogCapture();
             GpuService gpus = GpuService.open(noLibrary(), ProcessOwner.none(), Stopper.none())) {
            assertEquals(List.of(), gpus.devices());
            assertTrue(gpus.unavailableReason().orElseThrow().contains("nowhere/libnvidia-ml.so.1"));
            GpuSnapshot s = gpus.sample();
            assertEquals(List.of(), s.gpus());
            List<String> lines = log.messages(Level.ALL);
            assertEquals(1, lines.size(), lines.toString());
            assertTrue(lines.getFirst().startsWith("no NVIDIA GPUs on this node: no libnvidia-ml.so.1"), lines.getFirst());
        }
    }

    @Test
    void searchDirsWithoutTheLibrary() throws Exception {
        GpuConfig config = GpuConfig.defaults(dir.resolve("state")).withSearchDirs(List.of(dir), List.of(), false);
        try (Nvml nvml = Nvml.load(config)) {
            assertEquals(0, nvml.deviceCount());
            assertTrue(nvml.absentReason().orElseThrow().contains(dir.resolve("libnvidia-ml.so.1").toString()));
        }
    }

    @Test
    void containersWithoutGpusPassAndGpuRequestsAreRefusedClearly() throws Exception {
        try (GpuService gpus = GpuService.open(noLibrary(), ProcessOwner.none(), Stopper.none())) {
            assertTrue(gpus.allocate("c1", ContainerLabels.NONE, Map.of("PATH", "/bin"), Map.of()).isEmpty());
            GpuAdmissionException e = assertThrows(GpuAdmissionException.class,
                    () -> gpus.allocate("c2", ContainerLabels.NONE, Map.of(), Map.of(GpuRequests.COUNT, "1")));
            assertTrue(e.getMessage().startsWith("cannot allocate whole:count=1 for container c2: this node has no "
                    + "NVIDIA GPUs (no libnvidia-ml.so.1"), e.getMessage());
            assertThrows(GpuAdmissionException.class,
                    () -> gpus.allocate("c3", ContainerLabels.NONE, Map.of("NVIDIA_VISIBLE_DEVICES", "all"), Map.of()));
            assertThrows(GpuAdmissionException.class,
                    () -> gpus.allocate("c4", ContainerLabels.NONE, Map.of(), Map.of(GpuRequests.MEMORY_MIB, "1024")));
            InvalidGpuRequestException unknown = assertThrows(InvalidGpuRequestException.class,
                    () -> gpus.allocate("c5", ContainerLabels.NONE, Map.of("NVIDIA_VISIBLE_DEVICES", "0"), Map.of()));
            assertTrue(unknown.getMessage().contains("unknown GPU '0'; this node has no NVIDIA GPUs"), unknown.getMessage());
            assertEquals(List.of(), gpus.allocations());
        }
    }
}
