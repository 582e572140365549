package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.admin.v1.GpuAllocationInfo;
import io.pvecri.proto.admin.v1.ListGpuAllocationsRequest;
import io.pvecri.proto.admin.v1.ListGpuAllocationsResponse;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ContainerStatus;
import io.pvecri.proto.cri.v1.PodSandboxConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static io.pvecri.daemon.e2e.GrpcAssertions.description;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPUs end to end, without a GPU: the daemon loads the fake {@code libnvidia-ml.so.1}
 * (runtime-daemon/src/test/c/fake_nvml_control.c, built by the test build; programmed through
 * {@code fake-nvml.conf} next to it) and passes fake NVIDIA device nodes (char devices 195:N made
 * with mknod under a temp dev dir, {@code gpu.devDir}) into real LXC containers. One 1 GiB GPU.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GpuIT {
    private static final String UUID = "GPU-e2e00000-1111-2222-3333-444444444444";
    private static final long GIB = 1024L * 1024 * 1024;
    private static final String GPU_LINES = """
            device 0 0 %d %s 00000000:3B:00.0 Fake E2E GPU
            utilization 0 25 5
            sensors 0 47 95000
            memory 0 0
            """.formatted(GIB, UUID);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static Path root;
    private static Path control;
    private static Path library;
    private static Path libDir;
    private static Daemon daemon;
    private static Pods pods;

    @BeforeAll
    static void startDaemonWithAFakeGpu() throws IOException {
        root = Files.createTempDirectory(Path.of("/tmp"), "pcg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path nvmlDir = Files.createDirectories(root.resolve("nvml"));
        library = nvmlDir.resolve("libnvidia-ml.so.1");
        Files.copy(Path.of(System.getProperty("pvecri.fakeNvml")), library, StandardCopyOption.REPLACE_EXISTING);
        control = nvmlDir.resolve("fake-nvml.conf");
        program("");
        Path devDir = Files.createDirectories(root.resolve("dev"));
        Host.run("mknod", devDir.resolve("nvidia0").toString(), "c", "195", "0").requireSuccess(List.of("mknod"));
        Host.run("mknod", devDir.resolve("nvidiactl").toString(), "c", "195", "255").requireSuccess(List.of("mknod"));
        libDir = Files.createDirectories(root.resolve("lib"));
        Files.writeString(libDir.resolve("libcuda.so.1"), "fake cuda\n");
        Files.writeString(libDir.resolve("libunrelated.so.1"), "not a driver file\n");
        daemon = Daemon.start("""
                gpu:
                  libraryPath: %s
                  librarySearchDirs: [%s]
                  useLoaderPath: false
                  binarySearchDirs: [%s]
                  devDir: %s
                  sampleInterval: 200ms
                  violationWindow: 2
                """.formatted(library, libDir, root.resolve("bin"), devDir));
        daemon.importBusybox();
        pods = new Pods(daemon);
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try {
            if (daemon != null) {
                daemon.close();
                assertEquals(List.of(), daemon.leftovers(), "the daemon left things behind");
            }
        } finally {
            try (Stream<Path> paths = Files.walk(root)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Replaces the fake NVML's state: the GPU, plus {@code extra} lines (processes). */
    private static void program(String extra) {
        try {
            Path tmp = control.resolveSibling("fake-nvml.conf.tmp");
            Files.writeString(tmp, GPU_LINES + extra);
            Files.move(tmp, control, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static PodSandboxConfig.Builder gpuPod(String name, Map<String, String> annotations) {
        return pods.sandbox(name).putAllAnnotations(annotations);
    }

    private static ListGpuAllocationsResponse allocations() {
        return daemon.admin().listGpuAllocations(ListGpuAllocationsRequest.getDefaultInstance());
    }

    /** Scrapes /metrics until {@code accept} holds (the metrics follow the GPU sampler). */
    private static PrometheusText awaitMetrics(String what, java.util.function.Predicate<PrometheusText> accept) {
        return Wait.forValue(what, Duration.ofSeconds(10), () -> {
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + daemon.metricsAddress() + "/metrics"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                return PrometheusText.parse(r.body());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }, accept);
    }

    @Test
    @Order(1)
    void sharesAreAdmittedPassedIntoLxcReleasedOnRemovalAndSurviveARestart() throws Exception {
        Pod first = pods.run(gpuPod("gpu-a", Map.of("pve-cri.io/gpu-memory-mib", "768")));
        String a = first.start(pods.sleeper("main"));

        // The container sees the device nodes, the driver files (read-only) and the env.
        String dev = pods.execOk(a, "ls", "-l", "/dev/nvidia0", "/dev/nvidiactl");
        assertTrue(dev.lines().allMatch(l -> l.startsWith("c")), dev);
        assertTrue(dev.contains("195,   0") || dev.contains("195, 0"), dev);
        assertTrue(dev.contains("195, 255"), dev);
        String env = pods.execOk(a, "env");
        assertTrue(env.contains("NVIDIA_VISIBLE_DEVICES=" + UUID + "\n"), env);
        assertTrue(env.contains("CUDA_VISIBLE_DEVICES=0\n"), env);
        assertTrue(env.contains("PVECRI_GPU_MEMORY_MIB=768\n"), env);
        Path cuda = libDir.resolve("libcuda.so.1");
        assertEquals("fake cuda\n", pods.execOk(a, "cat", cuda.toString()));
        assertNotEquals(0, pods.exec(a, "sh", "-c", "echo x > " + cuda).getExitCode(), "driver files are read-only");
        assertNotEquals(0, pods.exec(a, "ls", libDir.resolve("libunrelated.so.1").toString()).getExitCode());
        String lxcConfig = daemon.lxcConfig(a);
        assertTrue(lxcConfig.contains("devices.allow = c 195:0 rwm"), lxcConfig);

        ListGpuAllocationsResponse held = allocations();
        assertEquals(1, held.getAllocationsCount(), held.toString());
        GpuAllocationInfo info = held.getAllocations(0);
        assertEquals(a, info.getContainerId());
        assertEquals("share", info.getKind());
        assertEquals(768, info.getMemoryMib());
        assertEquals("main", info.getContainer());
        assertEquals(256, held.getGpus(0).getMemoryFreeMib());

        PrometheusText m = awaitMetrics("the GPU's metrics", t -> t.sum("pvecri_gpu_memory_total_bytes", Map.of("gpu_uuid", UUID)).isPresent()
                && t.sum("pvecri_gpu_utilization_percent", Map.of("gpu_uuid", UUID)).isPresent());
        assertEquals(GIB, m.sum("pvecri_gpu_memory_total_bytes", Map.of("gpu_uuid", UUID)).orElseThrow(), 0.5);
        assertEquals(25, m.sum("pvecri_gpu_utilization_percent", Map.of("gpu_uuid", UUID)).orElseThrow(), 0.01);

        // 512 MiB more does not fit: RESOURCE_EXHAUSTED, saying what is free, and nothing is left behind.
        Pod second = pods.run(gpuPod("gpu-b", Map.of("pve-cri.io/gpu-memory-mib", "512")));
        List<String> lxcBefore = Host.lxcContainers(daemon.lxcPath());
        StatusRuntimeException refused = assertStatus(Status.Code.RESOURCE_EXHAUSTED, () -> second.create(pods.sleeper("main")));
        assertTrue(description(refused).contains("free: GPU 0 (" + UUID + "): 256/1024 MiB"), description(refused));
        assertEquals(lxcBefore, Host.lxcContainers(daemon.lxcPath()));
        assertEquals(1, pods.listContainers(Pods.containerFilter()).size());
        assertEquals(1, allocations().getAllocationsCount());

        // A bad annotation is the caller's fault.
        Pod bad = pods.run(gpuPod("gpu-bad", Map.of("pve-cri.io/gpu-compute-percent", "250")));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> bad.create(pods.sleeper("main")));

        // Removing the first container gives its share back: now the second fits.
        pods.stop(a, 0);
        pods.remove(a);
        assertEquals(0, allocations().getAllocationsCount());
        String b = second.start(pods.sleeper("main"));

        // The allocation is persisted: after a restart it still holds, and still counts.
        daemon.restart();
        ListGpuAllocationsResponse after = allocations();
        assertEquals(List.of(b), after.getAllocationsList().stream().map(GpuAllocationInfo::getContainerId).toList());
        Pod third = pods.run(gpuPod("gpu-c", Map.of("pve-cri.io/gpu-memory-mib", "768")));
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, () -> third.create(pods.sleeper("main")));

        // `pve-cri gpus` shows the GPU (from NVML) and the allocation (from the daemon).
        Path cli = Path.of(System.getProperty("pvecri.dist"), "bin", "pve-cri");
        Host.Result shown = Host.run(Duration.ofSeconds(60), List.of(cli.toString(), "gpus",
                "--nvml-library", library.toString(), "--socket", daemon.socket().toString()));
        assertEquals(0, shown.exitCode(), shown.stderr());
        assertTrue(shown.stdout().contains(UUID) && shown.stdout().contains("Fake E2E GPU"), shown.stdout());
        assertTrue(shown.stdout().contains("1 share; free 512 MiB"), shown.stdout());
        assertTrue(shown.stdout().contains(b.substring(0, 13)) && shown.stdout().contains(Pods.NAMESPACE + "/"), shown.stdout());
        System.out.println("[GpuIT] pve-cri gpus:\n" + shown.stdout());

        for (Pod p : List.of(first, second, third, bad)) {
            p.stop();
            p.remove();
        }
        assertEquals(0, allocations().getAllocationsCount());
    }

    @Test
    @Order(2)
    void aContainerOverItsShareWithPolicyStopIsStoppedWithTheReason() throws Exception {
        Pod pod = pods.run(gpuPod("gpu-q", Map.of("pve-cri.io/gpu-memory-mib", "256", "pve-cri.io/gpu-policy", "stop")));
        String id = pod.start(pods.sleeper("main"));
        long pid = Host.requireInitPid(daemon.lxcPath(), daemon.lxcName(id));
        try {
            // NVML reports the container's init using 512 MiB: over its 256 MiB share for 2 samples.
            program("process 0 %d %d 10\n".formatted(pid, 512L * 1024 * 1024));
            ContainerStatus status = pods.awaitState(id, ContainerState.CONTAINER_EXITED, Duration.ofSeconds(20));
            assertEquals("GpuQuotaExceeded", status.getReason());
            assertTrue(status.getMessage().contains("GPU quota exceeded") && status.getMessage().contains("256"),
                    status.getMessage());
        } finally {
            program("");
        }
        ListGpuAllocationsResponse held = allocations();
        assertTrue(held.getAllocations(0).getStopRequested(), held.toString());
        PrometheusText m = awaitMetrics("the stop to show in the metrics", t -> t.sumOrZero("pvecri_gpu_quota_stops_total", Map.of()) >= 1);
        assertTrue(m.sumOrZero("pvecri_gpu_quota_violations_total",
                Map.of("pod", pod.config().getMetadata().getName(), "resource", "memory", "policy", "stop")) >= 1);
        pod.stop();
        pod.remove();
        assertEquals(0, allocations().getAllocationsCount());
    }
}
