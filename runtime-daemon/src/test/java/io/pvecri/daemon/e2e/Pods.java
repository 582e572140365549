package io.pvecri.daemon.e2e;

import io.pvecri.proto.cri.v1.Container;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.ContainerFilter;
import io.pvecri.proto.cri.v1.ContainerMetadata;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ContainerStateValue;
import io.pvecri.proto.cri.v1.ContainerStatus;
import io.pvecri.proto.cri.v1.ContainerStatusRequest;
import io.pvecri.proto.cri.v1.CreateContainerRequest;
import io.pvecri.proto.cri.v1.ExecSyncRequest;
import io.pvecri.proto.cri.v1.ExecSyncResponse;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.KeyValue;
import io.pvecri.proto.cri.v1.LinuxContainerConfig;
import io.pvecri.proto.cri.v1.LinuxContainerSecurityContext;
import io.pvecri.proto.cri.v1.LinuxPodSandboxConfig;
import io.pvecri.proto.cri.v1.LinuxSandboxSecurityContext;
import io.pvecri.proto.cri.v1.ListContainersRequest;
import io.pvecri.proto.cri.v1.ListPodSandboxRequest;
import io.pvecri.proto.cri.v1.NamespaceMode;
import io.pvecri.proto.cri.v1.NamespaceOption;
import io.pvecri.proto.cri.v1.PodSandbox;
import io.pvecri.proto.cri.v1.PodSandboxConfig;
import io.pvecri.proto.cri.v1.PodSandboxFilter;
import io.pvecri.proto.cri.v1.PodSandboxMetadata;
import io.pvecri.proto.cri.v1.PodSandboxState;
import io.pvecri.proto.cri.v1.PodSandboxStateValue;
import io.pvecri.proto.cri.v1.PodSandboxStatus;
import io.pvecri.proto.cri.v1.PodSandboxStatusRequest;
import io.pvecri.proto.cri.v1.RemoveContainerRequest;
import io.pvecri.proto.cri.v1.RemovePodSandboxRequest;
import io.pvecri.proto.cri.v1.RunPodSandboxRequest;
import io.pvecri.proto.cri.v1.RuntimeServiceGrpc;
import io.pvecri.proto.cri.v1.StartContainerRequest;
import io.pvecri.proto.cri.v1.StopContainerRequest;
import io.pvecri.proto.cri.v1.StopPodSandboxRequest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import com.google.protobuf.ByteString;

/**
 * Concise CRI requests for tests: pod and container configs with kubelet-like defaults and
 * unique metadata, the common RPCs, and bounded waits for state changes.
 */
public final class Pods {
    /** Namespace of every test pod. */
    public static final String NAMESPACE = "e2e";

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final Daemon daemon;

    Pods(Daemon daemon) {
        this.daemon = daemon;
    }

    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return daemon.runtime();
    }

    // ---- configs ------------------------------------------------------------------------------

    /**
     * A pod config named {@code <name>-<n>} with a fresh uid, namespace {@value #NAMESPACE}, a new
     * log directory, and pod-level network/IPC namespaces as the kubelet asks for.
     */
    public PodSandboxConfig.Builder sandbox(String name) {
        String uniqueName = name + "-" + SEQUENCE.incrementAndGet();
        String uid = UUID.randomUUID().toString();
        Path logDir = daemon.logsRoot().resolve(NAMESPACE + "_" + uniqueName + "_" + uid);
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder()
                        .setName(uniqueName)
                        .setNamespace(NAMESPACE)
                        .setUid(uid)
                        .setAttempt(0))
                .setHostname(uniqueName)
                .setLogDirectory(logDir.toString())
                .setLinux(LinuxPodSandboxConfig.newBuilder()
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                                .setNamespaceOptions(podNamespaces())));
    }

    /**
     * A busybox container config running {@code command}, logging to {@code <name>/0.log} in the
     * pod's log directory.
     */
    public ContainerConfig.Builder container(String name, String... command) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name).setAttempt(0))
                .setImage(ImageSpec.newBuilder().setImage(Daemon.BUSYBOX))
                .addAllCommand(List.of(command))
                .setLogPath(name + "/0.log")
                .setLinux(LinuxContainerConfig.newBuilder()
                        .setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                                .setNamespaceOptions(podNamespaces())));
    }

    /** A container running {@code sh -c script}. */
    public ContainerConfig.Builder shell(String name, String script) {
        return container(name, "sh", "-c", script);
    }

    /** A container that just sleeps (for exec and status tests). */
    public ContainerConfig.Builder sleeper(String name) {
        return container(name, "sleep", "1000");
    }

    public static KeyValue env(String key, String value) {
        return KeyValue.newBuilder().setKey(key).setValue(ByteString.copyFromUtf8(value)).build();
    }

    private static NamespaceOption podNamespaces() {
        return NamespaceOption.newBuilder()
                .setNetwork(NamespaceMode.POD)
                .setPid(NamespaceMode.CONTAINER)
                .setIpc(NamespaceMode.POD)
                .build();
    }

    // ---- pods -----------------------------------------------------------------------------------

    public Pod run(String name) {
        return run(sandbox(name));
    }

    public Pod run(PodSandboxConfig.Builder config) {
        PodSandboxConfig built = config.build();
        String id = runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(built).build())
                .getPodSandboxId();
        return new Pod(id, built);
    }

    public PodSandboxStatus podStatus(String podId) {
        return runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                .getStatus();
    }

    public void stopPod(String podId) {
        runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    }

    public void removePod(String podId) {
        runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    }

    public List<PodSandbox> listPods(PodSandboxFilter.Builder filter) {
        return runtime().listPodSandbox(ListPodSandboxRequest.newBuilder().setFilter(filter).build()).getItemsList();
    }

    public List<PodSandbox> listPods() {
        return runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList();
    }

    /** Ids of the pods matching {@code filter}. */
    public Set<String> podIds(PodSandboxFilter.Builder filter) {
        return listPods(filter).stream().map(PodSandbox::getId).collect(Collectors.toSet());
    }

    public static PodSandboxFilter.Builder podFilter() {
        return PodSandboxFilter.newBuilder();
    }

    public static PodSandboxStateValue podState(PodSandboxState state) {
        return PodSandboxStateValue.newBuilder().setState(state).build();
    }

    // ---- containers -------------------------------------------------------------------------

    public ContainerStatus status(String containerId) {
        return runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId).build())
                .getStatus();
    }

    public void start(String containerId) {
        runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(containerId).build());
    }

    /** StopContainer with a grace period; the RPC deadline leaves room for it. */
    public void stop(String containerId, long timeoutSeconds) {
        daemon.client().runtime().withDeadlineAfter(timeoutSeconds + 60, TimeUnit.SECONDS)
                .stopContainer(StopContainerRequest.newBuilder()
                        .setContainerId(containerId)
                        .setTimeout(timeoutSeconds)
                        .build());
    }

    public void remove(String containerId) {
        runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(containerId).build());
    }

    public List<Container> listContainers(ContainerFilter.Builder filter) {
        return runtime().listContainers(ListContainersRequest.newBuilder().setFilter(filter).build())
                .getContainersList();
    }

    /** Ids of the containers matching {@code filter}. */
    public Set<String> containerIds(ContainerFilter.Builder filter) {
        return listContainers(filter).stream().map(Container::getId).collect(Collectors.toSet());
    }

    public static ContainerFilter.Builder containerFilter() {
        return ContainerFilter.newBuilder();
    }

    public static ContainerStateValue containerState(ContainerState state) {
        return ContainerStateValue.newBuilder().setState(state).build();
    }

    /** Polls ContainerStatus until the container is in {@code state}; returns that status. */
    public ContainerStatus awaitState(String containerId, ContainerState state) {
        return awaitState(containerId, state, Wait.STATE_CHANGE);
    }

    public ContainerStatus awaitState(String containerId, ContainerState state, Duration limit) {
        return Wait.forValue("container " + containerId + " to be " + state, limit,
                () -> status(containerId), s -> s.getState() == state);
    }

    /** ExecSync with a CRI timeout (0 = none); the RPC deadline is longer, so the daemon decides. */
    public ExecSyncResponse exec(String containerId, long timeoutSeconds, String... cmd) {
        return daemon.client().runtime().withDeadlineAfter(timeoutSeconds + 60, TimeUnit.SECONDS)
                .execSync(ExecSyncRequest.newBuilder()
                        .setContainerId(containerId)
                        .addAllCmd(List.of(cmd))
                        .setTimeout(timeoutSeconds)
                        .build());
    }

    /** ExecSync without a CRI timeout. */
    public ExecSyncResponse exec(String containerId, String... cmd) {
        return exec(containerId, 0, cmd);
    }

    /** ExecSync that must exit 0; returns its stdout. */
    public String execOk(String containerId, String... cmd) {
        ExecSyncResponse r = exec(containerId, cmd);
        if (r.getExitCode() != 0) {
            throw new AssertionError("exec " + List.of(cmd) + " in " + containerId + " exited " + r.getExitCode()
                    + "; stdout: " + r.getStdout().toStringUtf8() + "; stderr: " + r.getStderr().toStringUtf8());
        }
        return r.getStdout().toStringUtf8();
    }

    // ---- a running pod ------------------------------------------------------------------------

    /** A pod sandbox the daemon runs, with the config it was started from. */
    public final class Pod {
        private final String id;
        private final PodSandboxConfig config;

        private Pod(String id, PodSandboxConfig config) {
            this.id = id;
            this.config = config;
        }

        public String id() {
            return id;
        }

        public PodSandboxConfig config() {
            return config;
        }

        public Path logDir() {
            return Path.of(config.getLogDirectory());
        }

        /** The log file of a container made from {@link Pods#container} with this name. */
        public Path logFile(String containerName) {
            return logDir().resolve(containerName + "/0.log");
        }

        public Map<String, String> labels() {
            return config.getLabelsMap();
        }

        /** CreateContainer in this pod; returns the new container's id. */
        public String create(ContainerConfig.Builder container) {
            return runtime().createContainer(CreateContainerRequest.newBuilder()
                    .setPodSandboxId(id)
                    .setConfig(container)
                    .setSandboxConfig(config)
                    .build()).getContainerId();
        }

        /** CreateContainer + StartContainer; returns the container's id. */
        public String start(ContainerConfig.Builder container) {
            String containerId = create(container);
            Pods.this.start(containerId);
            return containerId;
        }

        public PodSandboxStatus status() {
            return podStatus(id);
        }

        public void stop() {
            stopPod(id);
        }

        public void remove() {
            removePod(id);
        }

        @Override
        public String toString() {
            return "Pod[" + id + " " + config.getMetadata().getName() + "]";
        }
    }
}
