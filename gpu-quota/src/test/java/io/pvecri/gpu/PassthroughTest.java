package io.pvecri.gpu;

import io.pvecri.gpu.testing.FakeNvml;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device nodes come from a dev dir whose entries link to real character devices of this host
 * (/dev/null 1:3, /dev/zero 1:5, /dev/full 1:7, /dev/random 1:8), so the numbers are read with
 * a real stat.
 */
class PassthroughTest {

    @TempDir
    Path root;

    Path dev;
    Path lib;
    Path bin;

    @BeforeEach
    void hostTree() throws Exception {
        dev = Files.createDirectories(root.resolve("dev"));
        Files.createSymbolicLink(dev.resolve("nvidia0"), Path.of("/dev/null"));
        Files.createSymbolicLink(dev.resolve("nvidia1"), Path.of("/dev/zero"));
        Files.createSymbolicLink(dev.resolve("nvidiactl"), Path.of("/dev/full"));
        Files.createSymbolicLink(dev.resolve("nvidia-uvm"), Path.of("/dev/random"));
        Files.writeString(dev.resolve("nvidia-modeset"), "not a device");
        lib = Files.createDirectories(root.resolve("lib"));
        Files.writeString(lib.resolve("libcuda.so.550.54.15"), "");
        Files.createSymbolicLink(lib.resolve("libcuda.so.1"), Path.of("libcuda.so.550.54.15"));
        Files.writeString(lib.resolve("libnvidia-ml.so.550.54.15"), "");
        Files.createSymbolicLink(lib.resolve("libnvidia-ml.so.1"), Path.of("libnvidia-ml.so.550.54.15"));
        Files.createSymbolicLink(lib.resolve("libnvidia-ptxjitcompiler.so.1"), Path.of("dangling"));
        Files.writeString(lib.resolve("libc.so.6"), "");
        bin = Files.createDirectories(root.resolve("bin"));
        Files.writeString(bin.resolve("nvidia-smi"), "");
    }

    private GpuService open() throws GpuException {
        GpuConfig config = GpuConfig.defaults(root.resolve("state")).withDevDir(dev)
                .withSearchDirs(List.of(lib), List.of(bin), false);
        return GpuService.open(config, FakeNvml.withGpus(2, 16), ProcessOwner.none(), Stopper.none());
    }

    @Test
    void deviceNumbersDecodeLikeGlibc() {
        assertEquals(1, DevicePassthrough.major(0x103));
        assertEquals(3, DevicePassthrough.minor(0x103));
        assertEquals(195, DevicePassthrough.major(makedev(195, 255)));
        assertEquals(255, DevicePassthrough.minor(makedev(195, 255)));
        assertEquals(1_000_000, DevicePassthrough.minor(makedev(511, 1_000_000)));
        assertEquals(511, DevicePassthrough.major(makedev(511, 1_000_000)));
    }

    /** glibc's gnu_dev_makedev. */
    private static long makedev(long major, long minor) {
        return ((major & 0xfffL) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xffL) | ((minor & ~0xffL) << 12);
    }

    @Test
    void wholeGpuGetsItsNodeControlNodesDriverFilesAndEnv() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(new AllocationRequest("c", new GpuRequest.WholeDevices(List.of("1")), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            GpuPassthrough p = gpus.passthrough("c").orElseThrow();
            assertEquals(List.of("GPU-fake-0001-0000-0000-000000000000"), p.gpuUuids());
            assertEquals(List.of(
                    new GpuPassthrough.DeviceNode(dev.resolve("nvidia1"), Path.of("/dev/nvidia1"), 1, 5),
                    new GpuPassthrough.DeviceNode(dev.resolve("nvidiactl"), Path.of("/dev/nvidiactl"), 1, 7),
                    new GpuPassthrough.DeviceNode(dev.resolve("nvidia-uvm"), Path.of("/dev/nvidia-uvm"), 1, 8)),
                    p.devices());
            assertEquals("c 1:5 rwm", p.devices().getFirst().cgroupRule());
            assertEquals(List.of(lib.resolve("libcuda.so.1"), lib.resolve("libcuda.so.550.54.15"),
                            lib.resolve("libnvidia-ml.so.1"), lib.resolve("libnvidia-ml.so.550.54.15"),
                            bin.resolve("nvidia-smi")),
                    p.mounts().stream().map(GpuPassthrough.BindMount::hostPath).toList());
            assertTrue(p.mounts().stream().allMatch(m -> m.readOnly() && m.containerPath().equals(m.hostPath())));
            assertEquals(Map.of("NVIDIA_VISIBLE_DEVICES", "GPU-fake-0001-0000-0000-000000000000",
                    "CUDA_VISIBLE_DEVICES", "0", "NVIDIA_DRIVER_CAPABILITIES", "compute,utility"), p.env());
        }
    }

    @Test
    void shareEnvAndMultiGpuIndices() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(new AllocationRequest("two", new GpuRequest.WholeCount(2), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            assertEquals("0,1", gpus.passthrough("two").orElseThrow().env().get("CUDA_VISIBLE_DEVICES"));
            assertEquals(List.of("c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm"),
                    gpus.passthrough("two").orElseThrow().devices().stream()
                            .map(GpuPassthrough.DeviceNode::cgroupRule).toList());
            gpus.release("two");
            gpus.allocate(new AllocationRequest("s", new GpuRequest.Share(2048, 20), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            Map<String, String> env = gpus.passthrough("s").orElseThrow().env();
            assertEquals("2048", env.get("PVECRI_GPU_MEMORY_MIB"));
            assertEquals("20", env.get("PVECRI_GPU_COMPUTE_PERCENT"));
        }
    }

    @Test
    void driverOnlyGetsFilesButNoDevices() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(new AllocationRequest("d", new GpuRequest.DriverOnly(), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            GpuPassthrough p = gpus.passthrough("d").orElseThrow();
            assertEquals(List.of(), p.devices());
            assertEquals(5, p.mounts().size());
            assertEquals("none", p.env().get("NVIDIA_VISIBLE_DEVICES"));
            assertTrue(gpus.passthrough("nobody").isEmpty());
        }
    }

    @Test
    void aMissingGpuNodeIsAClearError() throws Exception {
        Files.delete(dev.resolve("nvidia0"));
        try (GpuService gpus = open()) {
            gpus.allocate(new AllocationRequest("c", new GpuRequest.WholeDevices(List.of("0")), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            GpuIoException e = assertThrows(GpuIoException.class, () -> gpus.passthrough("c"));
            assertTrue(e.getMessage().startsWith("GPU device node " + dev.resolve("nvidia0") + " is missing"),
                    e.getMessage());
        }
    }
}
