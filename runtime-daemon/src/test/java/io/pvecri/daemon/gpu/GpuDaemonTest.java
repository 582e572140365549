package io.pvecri.daemon.gpu;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pvecri.daemon.config.ConfigException;
import io.pvecri.daemon.config.ConfigLoader;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.container.DeviceAllocator;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.metrics.GpuMetrics;
import io.pvecri.gpu.ContainerLabels;
import io.pvecri.gpu.GpuConfig;
import io.pvecri.gpu.GpuPassthrough;
import io.pvecri.gpu.GpuService;
import io.pvecri.gpu.Placement;
import io.pvecri.gpu.QuotaPolicy;
import io.pvecri.gpu.Stopper;
import io.pvecri.gpu.testing.FakeNvml;
import io.pvecri.proto.admin.v1.ListGpuAllocationsResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The daemon's GPU wiring without hardware: config section, error mapping, LXC grant, metrics, report. */
class GpuDaemonTest {
    @TempDir
    Path tmp;

    private static final long MIB = 1024L * 1024;

    private DaemonConfig load(String yaml) throws Exception {
        Path file = tmp.resolve("config.yaml");
        Files.writeString(file, "stateDir: " + tmp.resolve("state") + "\n" + yaml);
        return ConfigLoader.load(file, ConfigLoader.Overrides.none());
    }

    @Test
    void absentSectionGivesTheModuleDefaultsUnderTheStateDir() throws Exception {
        DaemonConfig cfg = load("");
        assertTrue(cfg.gpu().enabled());
        assertEquals(GpuConfig.defaults(tmp.resolve("state/gpu")), cfg.gpu().config());
    }

    @Test
    void everyKeyIsRead() throws Exception {
        DaemonConfig cfg = load("""
                gpu:
                  enabled: true
                  libraryPath: /opt/nvml/libnvidia-ml.so.1
                  librarySearchDirs: [/opt/lib]
                  useLoaderPath: false
                  binarySearchDirs: [/opt/bin]
                  driverLibraryGlobs: ["libcuda.so*"]
                  driverBinaries: [nvidia-smi]
                  devDir: /tmp/dev
                  stateDir: /var/lib/gpu
                  placement: spread
                  sampleInterval: 250ms
                  policy: stop
                  violationWindow: 5
                """);
        GpuConfig c = cfg.gpu().config();
        assertEquals(Optional.of(Path.of("/opt/nvml/libnvidia-ml.so.1")), c.libraryPath());
        assertEquals(List.of(Path.of("/opt/lib")), c.librarySearchDirs());
        assertEquals(false, c.useLoaderPath());
        assertEquals(List.of(Path.of("/opt/bin")), c.binarySearchDirs());
        assertEquals(List.of("libcuda.so*"), c.driverLibraryGlobs());
        assertEquals(List.of("nvidia-smi"), c.driverBinaries());
        assertEquals(Path.of("/tmp/dev"), c.devDir());
        assertEquals(Path.of("/var/lib/gpu"), c.stateDir());
        assertEquals(Placement.SPREAD, c.placement());
        assertEquals(Duration.ofMillis(250), c.sampleInterval());
        assertEquals(QuotaPolicy.STOP, c.defaultQuota().policy());
        assertEquals(5, c.defaultQuota().violationWindow());
    }

    @Test
    void badValuesNameTheirKey() {
        for (String[] bad : new String[][] {
                {"placement: best", "gpu.placement"}, {"sampleInterval: 50ms", "gpu.sampleInterval"},
                {"sampleInterval: soon", "gpu.sampleInterval"}, {"policy: throttle", "gpu.policy"},
                {"violationWindow: 0", "gpu.violationWindow"}, {"devDir: dev", "gpu.devDir"},
                {"driverBinaries: [bin/nvidia-smi]", "gpu.driverBinaries"}, {"nvmlLibrary: /x", "nvmlLibrary"}}) {
            ConfigException e = assertThrows(ConfigException.class, () -> load("gpu:\n  " + bad[0] + "\n"), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void gpuFailuresMapToTheirStatus() throws Exception {
        try (GpuDevices devices = GpuDevices.open(GpuConfig.defaults(tmp.resolve("gpu")).withDevDir(tmp.resolve("dev")),
                FakeNvml.withGpus(1, 1))) {
            DeviceAllocator.Request tooBig = request(Map.of("pve-cri.io/gpu-memory-mib", "4096"));
            CriException e = assertThrows(CriException.class, () -> devices.allocate("c1", tooBig));
            assertInstanceOf(CriException.ResourceExhausted.class, e);
            assertTrue(e.getMessage().contains("free: GPU 0"), e.getMessage());

            CriException bad = assertThrows(CriException.class,
                    () -> devices.allocate("c2", request(Map.of("pve-cri.io/gpu-memory-mib", "lots"))));
            assertInstanceOf(CriException.InvalidArgument.class, bad);

            // The share fits, but there is no /dev/nvidia0 under the dev dir: INTERNAL, and nothing is kept.
            DeviceAllocator.Request fits = request(Map.of("pve-cri.io/gpu-memory-mib", "512"));
            assertInstanceOf(CriException.Internal.class, assertThrows(CriException.class, () -> devices.allocate("c3", fits)));
            assertTrue(devices.service().allocations().isEmpty());

            assertEquals(Optional.empty(), devices.allocate("c4", request(Map.of())));
        }
    }

    @Test
    void passthroughBecomesDevicesReadOnlyMountsAndEnv() {
        GpuPassthrough p = new GpuPassthrough(List.of("GPU-1"),
                List.of(new GpuPassthrough.DeviceNode(Path.of("/dev/nvidia0"), Path.of("/dev/nvidia0"), 195, 0)),
                List.of(new GpuPassthrough.BindMount(Path.of("/usr/lib/libcuda.so.1"), Path.of("/usr/lib/libcuda.so.1"), true)),
                Map.of("NVIDIA_VISIBLE_DEVICES", "GPU-1"));
        DeviceAllocator.Grant g = GpuDevices.grant(p);
        assertEquals(195, g.devices().getFirst().major());
        assertEquals('c', g.devices().getFirst().type());
        assertEquals("/dev/nvidia0", g.devices().getFirst().containerPath());
        assertTrue(g.mounts().getFirst().readonly());
        assertEquals("GPU-1", g.env().get("NVIDIA_VISIBLE_DEVICES"));
    }

    @Test
    void containerIdsComeFromLxcPayloadCgroups() {
        assertEquals(Optional.of("abc"), GpuDevices.payloadName("/lxc.payload.abc"));
        assertEquals(Optional.of("abc"), GpuDevices.payloadName("/process_api/x/lxc.payload.abc/init.scope"));
        assertEquals(Optional.empty(), GpuDevices.payloadName("/lxc.monitor.abc"));
        assertEquals(Optional.empty(), GpuDevices.payloadName("/user.slice"));
    }

    @Test
    void metricsAndReportFollowTheSamples() throws Exception {
        FakeNvml nvml = FakeNvml.withGpus(1, 1);
        nvml.device(0).utilization(40, 10).memoryUsed(600 * MIB).sensors(55, 120_000)
                .processes(new FakeNvml.Proc(4242, 600 * MIB, 30));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (GpuService service = GpuService.open(GpuConfig.defaults(tmp.resolve("gpu")), nvml,
                pid -> pid == 4242 ? Optional.of("c1") : Optional.empty(), Stopper.none())) {
            service.allocate("c1", new ContainerLabels("ml", "infer", "main"), Map.of(),
                    Map.of("pve-cri.io/gpu-memory-mib", "512", "pve-cri.io/gpu-violation-window", "1"));
            GpuMetrics metrics = new GpuMetrics(registry, service);
            service.sample();
            metrics.refresh();
            String text = registry.scrape();
            String gpu = "gpu_uuid=\"GPU-fake-0000-0000-0000-000000000000\"";
            for (String line : List.of(
                    "pvecri_gpu_memory_used_bytes{" + gpu + "} 6.291456E8",
                    "pvecri_gpu_memory_total_bytes{" + gpu + "} 1.073741824E9",
                    "pvecri_gpu_utilization_percent{" + gpu + "} 40.0",
                    "pvecri_gpu_temperature_celsius{" + gpu + "} 55.0",
                    "pvecri_gpu_power_watts{" + gpu + "} 120.0",
                    "pvecri_gpu_allocated_memory_bytes{" + gpu + "} 5.36870912E8",
                    "pvecri_container_gpu_memory_bytes{container=\"main\"," + gpu + ",namespace=\"ml\",pod=\"infer\"} 6.291456E8",
                    "pvecri_container_gpu_share_memory_bytes{container=\"main\"," + gpu + ",namespace=\"ml\",pod=\"infer\"} 5.36870912E8",
                    "pvecri_gpu_quota_violations_total{container=\"main\",namespace=\"ml\",pod=\"infer\",policy=\"warn\",resource=\"memory\"} 1.0",
                    "pvecri_gpu_device{gpu_index=\"0\"," + gpu + ",minor=\"0\",name=\"Fake GPU 1GB\",pci_bus_id=\"00000000:01:00.0\"} 1.0")) {
                assertTrue(text.contains(line), "missing " + line + " in\n" + text);
            }

            ListGpuAllocationsResponse report = GpuReport.of(service);
            assertEquals(1, report.getGpusCount());
            assertEquals(512, report.getGpus(0).getMemoryFreeMib());
            assertEquals("share", report.getAllocations(0).getKind());
            assertEquals(600 * MIB, report.getAllocations(0).getMemoryUsedBytes());
            assertEquals(1, report.getAllocations(0).getViolations());

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            GpuTable.print(List.of(new GpuTable.Device(0, "GPU-fake-0000-0000-0000-000000000000", "Fake GPU 1GB",
                    600 * MIB, 1024 * MIB, 40, 55, 120_000, "")), Optional.empty(), Optional.of(report), "",
                    new PrintStream(out, true, StandardCharsets.UTF_8));
            String table = out.toString(StandardCharsets.UTF_8);
            assertTrue(table.contains("1 share; free 512 MiB, 100%"), table);
            assertTrue(table.contains("ml/infer"), table);

            service.release("c1");
            service.sample();
            metrics.refresh();
            text = registry.scrape();
            assertTrue(!text.contains("pvecri_gpu_quota_violations_total{"), text);
            assertTrue(!text.contains("pvecri_container_gpu_share_memory_bytes{"), text);
        }
    }

    private static DeviceAllocator.Request request(Map<String, String> annotations) {
        return new DeviceAllocator.Request("ns", "pod", "main", Map.of(), annotations);
    }
}
