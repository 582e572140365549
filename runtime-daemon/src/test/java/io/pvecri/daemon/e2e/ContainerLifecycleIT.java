package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.admin.v1.ImportedImage;
import io.pvecri.proto.cri.v1.Container;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ContainerStatus;
import io.pvecri.proto.cri.v1.ExecSyncResponse;
import io.pvecri.proto.cri.v1.Mount;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static io.pvecri.daemon.e2e.Pods.containerFilter;
import static io.pvecri.daemon.e2e.Pods.containerState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CreateContainer, StartContainer, ContainerStatus, logs, StopContainer, RemoveContainer, ListContainers. */
class ContainerLifecycleIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private final Pods pods = daemon.pods();
    private final Path lxcPath = daemon.daemon().lxcPath();

    @Test
    void createdContainerIsCreatedAndRunsOnceStarted() {
        Pod pod = pods.run("create");
        long before = nowNanos();
        String id = pod.create(pods.sleeper("app"));
        long afterCreate = nowNanos();

        ContainerStatus created = pods.status(id);
        assertEquals(ContainerState.CONTAINER_CREATED, created.getState());
        assertTrue(created.getCreatedAt() >= before && created.getCreatedAt() <= afterCreate,
                () -> "created_at " + created.getCreatedAt() + " not within [" + before + ", " + afterCreate + "]");
        assertEquals(0, created.getStartedAt());
        assertTrue(Host.lxcInitPid(lxcPath, daemon.daemon().lxcName(id)).isEmpty(), "a created container must not run yet");

        pods.start(id);

        ContainerStatus running = pods.status(id);
        assertEquals(ContainerState.CONTAINER_RUNNING, running.getState());
        assertTrue(running.getStartedAt() >= running.getCreatedAt(), "started_at must not precede created_at");
        assertEquals(0, running.getFinishedAt());
        assertEquals(created.getCreatedAt(), running.getCreatedAt());
        assertEquals("RUNNING", Host.lxcState(lxcPath, daemon.daemon().lxcName(id)).orElse("<unknown to LXC>"));
    }

    @Test
    void containerStatusReportsItsConfiguration() throws IOException {
        Pod pod = pods.run("status");
        Path hostDir = hostDirWith("hello.txt", "from host\n");
        String id = pod.start(pods.sleeper("app")
                .putLabels("role", "status-test")
                .putAnnotations("pve-cri.test/owner", "e2e")
                .addMounts(Mount.newBuilder().setContainerPath("/data").setHostPath(hostDir.toString()).setReadonly(true)));

        ContainerStatus status = pods.status(id);

        ImportedImage busybox = daemon.busybox();
        assertEquals(id, status.getId());
        assertEquals("app", status.getMetadata().getName());
        assertTrue(Set.of(Daemon.BUSYBOX, Daemon.BUSYBOX_IMPORT_NAME).contains(status.getImage().getImage()),
                () -> "image " + status.getImage().getImage());
        assertTrue(busybox.getId().equals(status.getImageRef()) || busybox.getRepoDigestsList().contains(status.getImageRef()),
                () -> "image_ref " + status.getImageRef() + " is neither the image id " + busybox.getId()
                        + " nor one of its digests " + busybox.getRepoDigestsList());
        assertEquals(Map.of("role", "status-test"), status.getLabelsMap());
        assertEquals(Map.of("pve-cri.test/owner", "e2e"), status.getAnnotationsMap());
        assertEquals(pod.logFile("app").toString(), status.getLogPath());
        assertEquals(1, status.getMountsCount(), () -> "mounts " + status.getMountsList());
        Mount mount = status.getMounts(0);
        assertEquals("/data", mount.getContainerPath());
        assertEquals(hostDir.toString(), mount.getHostPath());
        assertTrue(mount.getReadonly());
        assertTrue(status.getCreatedAt() > 0 && status.getStartedAt() >= status.getCreatedAt());
    }

    @Test
    void mountsAreVisibleInsideAndReadOnlyWhenAsked() throws IOException {
        Pod pod = pods.run("mounts");
        Path readOnly = hostDirWith("hello.txt", "from host\n");
        Path writable = hostDirWith("placeholder", "");
        if (daemon.daemon().pve().isPresent()) {
            // PVE CTs are unprivileged: CT root is host uid 100000, so a writable volume must be theirs
            // (docs/proxmox.md); kubelet's emptyDirs are world-writable anyway.
            Files.setAttribute(writable, "unix:uid", 100_000);
        }
        String id = pod.start(pods.sleeper("app")
                .addMounts(Mount.newBuilder().setContainerPath("/ro").setHostPath(readOnly.toString()).setReadonly(true))
                .addMounts(Mount.newBuilder().setContainerPath("/rw").setHostPath(writable.toString())));

        assertEquals("from host\n", pods.execOk(id, "cat", "/ro/hello.txt"));
        ExecSyncResponse denied = pods.exec(id, "sh", "-c", "echo x > /ro/new");
        assertNotEquals(0, denied.getExitCode(), "writing to a read-only mount must fail");
        assertFalse(Files.exists(readOnly.resolve("new")));
        pods.execOk(id, "sh", "-c", "echo from container > /rw/new");
        assertEquals("from container\n", Files.readString(writable.resolve("new")));
    }

    @Test
    void logFileGetsStdoutAndStderrLinesInCriFormat() {
        Pod pod = pods.run("logs");
        Instant before = Instant.now();
        pod.start(pods.shell("app", "echo out; echo err >&2; sleep 1000"));

        Path log = pod.logFile("app");
        CriLog.awaitLine(log, "stdout", "out");
        List<CriLog.Line> lines = CriLog.awaitLine(log, "stderr", "err");
        Instant after = Instant.now();

        assertEquals(2, lines.size(), () -> "log holds exactly the two lines: " + lines);
        assertEquals(Set.of("stdout out", "stderr err"), Set.copyOf(lines.stream().map(CriLog.Line::toString).toList()));
        List<CriLog.Record> records = CriLog.records(log);
        assertTrue(records.stream().allMatch(r -> r.tag().equals("F")), () -> "short lines are full records: " + records);
        for (CriLog.Record r : records) {
            assertFalse(r.time().isBefore(before.minusSeconds(1)) || r.time().isAfter(after.plusSeconds(1)),
                    () -> "timestamp " + r.time() + " not within the test's run [" + before + ", " + after + "]");
        }
    }

    @Test
    void stopContainerWaitsForAContainerThatExitsOnTerm() {
        Pod pod = pods.run("stopterm");
        String id = pod.start(pods.shell("app", "trap 'exit 0' TERM; echo ready; while true; do sleep 1 & wait $!; done"));
        CriLog.awaitLine(pod.logFile("app"), "stdout", "ready");

        pods.stop(id, 30);

        ContainerStatus status = pods.status(id);
        assertEquals(ContainerState.CONTAINER_EXITED, status.getState());
        assertEquals(0, status.getExitCode(), "the container handled TERM and exited 0; it was not killed");
        assertTrue(status.getFinishedAt() >= status.getStartedAt());
        assertTrue(Host.lxcInitPid(lxcPath, daemon.daemon().lxcName(id)).isEmpty(), "the LXC container must have stopped");
    }

    @Test
    void stopContainerKillsAContainerThatIgnoresTermOnceTheTimeoutPasses() {
        Pod pod = pods.run("stopkill");
        String id = pod.start(pods.shell("app", "trap '' TERM; echo ready; while true; do sleep 1; done"));
        CriLog.awaitLine(pod.logFile("app"), "stdout", "ready");

        long start = System.nanoTime();
        pods.stop(id, 2);
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        ContainerStatus status = pods.status(id);
        assertEquals(ContainerState.CONTAINER_EXITED, status.getState());
        assertEquals(137, status.getExitCode(), "killed with SIGKILL after the grace period");
        assertTrue(took.compareTo(Duration.ofSeconds(2)) >= 0, () -> "StopContainer returned after " + took
                + ", before the 2 s grace period was over");
        assertTrue(Host.lxcInitPid(lxcPath, daemon.daemon().lxcName(id)).isEmpty(), "the LXC container must have stopped");
    }

    @Test
    void containerThatExitsOnItsOwnReportsExitCodeAndReason() {
        Pod pod = pods.run("exit");
        String failing = pod.start(pods.shell("fails", "exit 3"));
        String succeeding = pod.start(pods.shell("succeeds", "exit 0"));

        ContainerStatus failed = pods.awaitState(failing, ContainerState.CONTAINER_EXITED);
        assertEquals(3, failed.getExitCode());
        assertEquals("Error", failed.getReason());
        assertTrue(failed.getFinishedAt() >= failed.getStartedAt() && failed.getStartedAt() > 0,
                () -> "started_at " + failed.getStartedAt() + ", finished_at " + failed.getFinishedAt());

        ContainerStatus completed = pods.awaitState(succeeding, ContainerState.CONTAINER_EXITED);
        assertEquals(0, completed.getExitCode());
        assertEquals("Completed", completed.getReason());
    }

    @Test
    void removeContainerMakesItAndItsLxcContainerGoneAndIsIdempotent() {
        Pod pod = pods.run("remove");
        String id = pod.start(pods.sleeper("app"));
        pods.stop(id, 0);
        assertTrue(Host.lxcContainers(lxcPath).contains(daemon.daemon().lxcName(id)), "a stopped container is still defined in LXC");

        pods.remove(id);

        assertStatus(Status.Code.NOT_FOUND, () -> pods.status(id));
        assertEquals(Set.of(), pods.containerIds(containerFilter().setId(id)));
        assertFalse(Host.lxcContainers(lxcPath).contains(daemon.daemon().lxcName(id)), "the LXC container must be destroyed");
        pods.remove(id);
    }

    @Test
    void removeContainerForcesOutARunningContainer() {
        Pod pod = pods.run("removerun");
        String id = pod.start(pods.sleeper("app"));
        long pid = Host.requireInitPid(lxcPath, daemon.daemon().lxcName(id));

        pods.remove(id);

        assertStatus(Status.Code.NOT_FOUND, () -> pods.status(id));
        assertFalse(Host.lxcContainers(lxcPath).contains(daemon.daemon().lxcName(id)), "the LXC container must be destroyed");
        Wait.until("init process " + pid + " of the removed container to be gone", Wait.STATE_CHANGE,
                () -> !Host.processExists(pid));
    }

    @Test
    void removeContainerOfUnknownIdSucceeds() {
        pods.remove("fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
    }

    @Test
    void listContainersFiltersByIdStatePodAndLabels() {
        String run = UUID.randomUUID().toString();
        Pod first = pods.run("list1");
        Pod second = pods.run("list2");
        String runningA = first.start(pods.sleeper("a").putLabels("run", run).putLabels("role", "a"));
        String createdB = first.create(pods.sleeper("b").putLabels("run", run).putLabels("role", "b"));
        String otherA = second.start(pods.sleeper("a").putLabels("run", run).putLabels("role", "a"));

        assertEquals(Set.of(runningA), pods.containerIds(containerFilter().setId(runningA)));
        assertEquals(Set.of(runningA, createdB), pods.containerIds(containerFilter().setPodSandboxId(first.id())));
        assertEquals(Set.of(runningA), pods.containerIds(containerFilter().setPodSandboxId(first.id())
                .setState(containerState(ContainerState.CONTAINER_RUNNING))));
        assertEquals(Set.of(createdB), pods.containerIds(containerFilter().setPodSandboxId(first.id())
                .setState(containerState(ContainerState.CONTAINER_CREATED))));
        assertEquals(Set.of(runningA, otherA), pods.containerIds(containerFilter()
                .putLabelSelector("run", run).putLabelSelector("role", "a")));
        assertEquals(Set.of(otherA), pods.containerIds(containerFilter().setPodSandboxId(second.id())
                .putLabelSelector("run", run).putLabelSelector("role", "a")));
        assertEquals(Set.of(), pods.containerIds(containerFilter().putLabelSelector("run", run)
                .setState(containerState(ContainerState.CONTAINER_EXITED))));

        pods.stop(otherA, 0);
        assertEquals(Set.of(otherA), pods.containerIds(containerFilter().putLabelSelector("run", run)
                .setState(containerState(ContainerState.CONTAINER_EXITED))));

        Container listed = pods.listContainers(containerFilter().setId(runningA)).getFirst();
        assertEquals(first.id(), listed.getPodSandboxId());
        assertEquals("a", listed.getMetadata().getName());
        assertEquals(ContainerState.CONTAINER_RUNNING, listed.getState());
        assertEquals(Map.of("run", run, "role", "a"), listed.getLabelsMap());
        assertTrue(listed.getCreatedAt() > 0);
    }

    private static long nowNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private static Path hostDirWith(String file, String content) throws IOException {
        Path dir = Files.createDirectories(daemon.daemon().root().resolve("mnt-" + UUID.randomUUID()));
        Files.writeString(dir.resolve(file), content);
        return dir;
    }
}
