package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerMetadata;
import io.pvecri.proto.cri.v1.ContainerStatsRequest;
import io.pvecri.proto.cri.v1.CreateContainerRequest;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.LinuxContainerResources;
import io.pvecri.proto.cri.v1.Mount;
import io.pvecri.proto.cri.v1.PodSandboxConfig;
import io.pvecri.proto.cri.v1.PodSandboxMetadata;
import io.pvecri.proto.cri.v1.PodSandboxState;
import io.pvecri.proto.cri.v1.UpdateContainerResourcesRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertRejected;
import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatusIn;
import static io.pvecri.daemon.e2e.GrpcAssertions.description;
import static io.pvecri.daemon.e2e.Pods.containerFilter;
import static io.pvecri.daemon.e2e.Pods.podFilter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests the daemon must refuse, each with the right status code and without leaving anything
 * behind: no pod or container in the list RPCs, no LXC container, no new file in the state dir,
 * no file outside the log directory.
 */
class BadInputIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static final String UNKNOWN_ID = "0badc0de".repeat(8);
    private static final int ONE_MIB = 1024 * 1024;

    private static Pods pods;
    private static Pod pod;

    @BeforeAll
    static void startPod() {
        pods = daemon.pods();
        pod = pods.run("bad");
    }

    // ---- unknown ids --------------------------------------------------------------------------

    @Test
    void unknownContainerIdIsNotFound() {
        assertStatus(Status.Code.NOT_FOUND, () -> pods.status(UNKNOWN_ID));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.start(UNKNOWN_ID));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.stop(UNKNOWN_ID, 1));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.exec(UNKNOWN_ID, "true"));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.runtime().containerStats(
                ContainerStatsRequest.newBuilder().setContainerId(UNKNOWN_ID).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.runtime().updateContainerResources(
                UpdateContainerResourcesRequest.newBuilder().setContainerId(UNKNOWN_ID)
                        .setLinux(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(64L * ONE_MIB))
                        .build()));
    }

    @Test
    void unknownPodIdIsNotFound() {
        assertStatus(Status.Code.NOT_FOUND, () -> pods.podStatus(UNKNOWN_ID));
    }

    @Test
    void containerInAnUnknownPodIsNotFoundAndNothingIsCreated() {
        assertRefusedWithoutTrace(Set.of(Status.Code.NOT_FOUND), () -> pods.runtime().createContainer(
                CreateContainerRequest.newBuilder()
                        .setPodSandboxId(UNKNOWN_ID)
                        .setConfig(pods.sleeper("orphan"))
                        .setSandboxConfig(pod.config())
                        .build()));
    }

    // ---- duplicates and missing things --------------------------------------------------------

    @Test
    void secondPodWithTheSameMetadataIsRefusedNamingTheReservedName() {
        String run = UUID.randomUUID().toString();
        PodSandboxConfig.Builder config = pods.sandbox("dup").putLabels("run", run);
        Pod first = pods.run(config);
        Snapshot before = Snapshot.take();

        StatusRuntimeException e = assertRejected(() -> pods.run(config));

        String name = config.getMetadata().getName();
        assertTrue(description(e).contains(name) && description(e).contains("reserved"),
                () -> "the error should say that the pod name " + name + " is reserved: " + e.getStatus());
        before.assertNothingNew();
        assertEquals(Set.of(first.id()), pods.podIds(podFilter().putLabelSelector("run", run)));
        assertEquals(PodSandboxState.SANDBOX_READY, first.status().getState());
    }

    @Test
    void containerOfAMissingImageIsRefusedAndNothingIsCreated() {
        var config = pods.sleeper("noimage").setImage(ImageSpec.newBuilder().setImage("docker.io/library/absent:never"));

        assertRefusedWithoutTrace(Set.of(Status.Code.NOT_FOUND, Status.Code.FAILED_PRECONDITION),
                () -> pod.create(config));
    }

    // ---- invalid mounts -----------------------------------------------------------------------

    static Stream<Named<Mount>> invalidMounts() {
        Path existing = daemon.daemon().root();
        return Stream.of(
                Named.of("relative host path", mount("/data", "relative/dir")),
                Named.of("container path with ..", mount("/data/../../etc", existing.toString())),
                Named.of("relative container path", mount("data", existing.toString())),
                Named.of("host path that does not exist", mount("/data", existing.resolve("absent-" + UUID.randomUUID()).toString())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidMounts")
    void invalidMountIsRefusedAsInvalidArgument(Mount mount) {
        var config = pods.sleeper("badmount").addMounts(mount);

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pod.create(config));
    }

    // ---- log path escapes ---------------------------------------------------------------------

    @Test
    void logPathEscapingTheLogDirectoryIsRefused() {
        Path target = escapeTarget();
        var config = pods.sleeper("escape").setLogPath("../../../../../../../../../.." + target);

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pod.create(config));
        assertFalse(Files.exists(target), "a log file was created outside the log directory: " + target);
    }

    @Test
    void absoluteLogPathIsRefused() {
        Path target = escapeTarget();
        var config = pods.sleeper("absolute").setLogPath(target.toString());

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pod.create(config));
        assertFalse(Files.exists(target), "a log file was created outside the log directory: " + target);
    }

    @Test
    void logPathEscapeInAPodWithoutLogDirectoryIsRefused() {
        Pod noLogs = pods.run(pods.sandbox("nologdir").clearLogDirectory());
        Path target = escapeTarget();
        var config = pods.sleeper("escape").setLogPath("../../../../../../../../../.." + target);

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> noLogs.create(config));
        assertFalse(Files.exists(target), "a log file was created outside any log directory: " + target);
    }

    @Test
    void logDirectoryThatIsNotAbsoluteIsRefused() {
        var config = pods.sandbox("rellogs").setLogDirectory("logs/../../x");

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pods.run(config));
    }

    // ---- metadata ---------------------------------------------------------------------------

    @Test
    void podWithEmptyNameIsRefused() {
        var config = pods.sandbox("x").setMetadata(PodSandboxMetadata.newBuilder()
                .setNamespace(Pods.NAMESPACE).setUid(UUID.randomUUID().toString()));

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pods.run(config));
    }

    @Test
    void podWithoutMetadataIsRefused() {
        var config = pods.sandbox("x").clearMetadata();

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pods.run(config));
    }

    @Test
    void containerWithEmptyNameIsRefused() {
        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT),
                () -> pod.create(pods.sleeper("x").setMetadata(ContainerMetadata.newBuilder().setName(""))));
    }

    // ---- oversized fields -------------------------------------------------------------------

    @Test
    void podWithAOneMibLabelValueIsRefused() {
        var config = pods.sandbox("biglabel").putLabels("big", "x".repeat(ONE_MIB));

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pods.run(config));
    }

    @Test
    void podWithTenThousandAnnotationsIsRefused() {
        var config = pods.sandbox("manyannotations").putAllAnnotations(tenThousandAnnotations());

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pods.run(config));
    }

    @Test
    void containerWithAOneMibLabelValueIsRefused() {
        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT),
                () -> pod.create(pods.sleeper("biglabel").putLabels("big", "x".repeat(ONE_MIB))));
    }

    @Test
    void containerWithTenThousandAnnotationsIsRefused() {
        var config = pods.sleeper("manyannotations").putAllAnnotations(tenThousandAnnotations());

        assertRefusedWithoutTrace(Set.of(Status.Code.INVALID_ARGUMENT), () -> pod.create(config));
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static Map<String, String> tenThousandAnnotations() {
        return IntStream.range(0, 10_000).boxed().collect(Collectors.toMap(i -> "pve-cri.test/a" + i, i -> "v"));
    }

    private static Mount mount(String containerPath, String hostPath) {
        return Mount.newBuilder().setContainerPath(containerPath).setHostPath(hostPath).build();
    }

    /** A path in /tmp no test creates: where an escaping log path would land. */
    private static Path escapeTarget() {
        return Path.of("/tmp/pce-escape-" + UUID.randomUUID() + ".log");
    }

    private static void assertRefusedWithoutTrace(Set<Status.Code> codes, Executable call) {
        Snapshot before = Snapshot.take();
        assertStatusIn(codes, call);
        before.assertNothingNew();
    }

    /** What the daemon has made: pods, containers, LXC containers, files in its state dir and in the pod's log dir. */
    private record Snapshot(Set<String> pods, Set<String> containers, Set<String> lxc, Set<Path> files) {
        static Snapshot take() {
            Set<Path> files = new HashSet<>(filesUnder(daemon.daemon().stateDir()));
            files.addAll(filesUnder(daemon.daemon().logsRoot()));
            return new Snapshot(
                    BadInputIT.pods.podIds(podFilter()),
                    BadInputIT.pods.containerIds(containerFilter()),
                    Set.copyOf(Host.lxcContainers(daemon.daemon().lxcPath())),
                    files);
        }

        void assertNothingNew() {
            Snapshot after = take();
            assertEquals(pods, after.pods, "pods after the refused request");
            assertEquals(containers, after.containers, "containers after the refused request");
            assertEquals(lxc, after.lxc, "LXC containers after the refused request");
            Set<Path> newFiles = new HashSet<>(after.files);
            newFiles.removeAll(files);
            assertEquals(Set.of(), newFiles, "files the refused request left behind");
        }

        private static List<Path> filesUnder(Path dir) {
            if (!Files.isDirectory(dir)) {
                return List.of();
            }
            try (Stream<Path> paths = Files.walk(dir)) {
                // Skip container root filesystems: they are covered by the LXC listing.
                return paths.filter(p -> !p.startsWith(daemon.daemon().lxcPath()) || p.getNameCount()
                        <= daemon.daemon().lxcPath().getNameCount() + 1).toList();
            } catch (IOException | UncheckedIOException e) {
                throw new AssertionError("cannot list " + dir, e);
            }
        }
    }

}
