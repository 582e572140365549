package io.pvecri.daemon.server;

import io.pvecri.daemon.util.Times;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.pvecri.daemon.Version;
import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.container.ContainerRecord;
import io.pvecri.daemon.pod.PodManager;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.daemon.streaming.StreamingService;
import io.pvecri.daemon.util.Log;
import io.pvecri.proto.cri.v1.*;

import com.google.protobuf.ByteString;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** CRI RuntimeService: translates requests to the pod and container managers. */
final class RuntimeServiceImpl extends RuntimeServiceGrpc.RuntimeServiceImplBase {
    private static final Log LOG = Log.get(RuntimeServiceImpl.class);
    private static final int PAGE = 500;

    private final PodManager pods;
    private final ContainerManager containers;
    private final ContainerBackend backend;
    private final PodStatsReader podStats;
    private final StreamingService streaming;

    RuntimeServiceImpl(PodManager pods, ContainerManager containers, ContainerBackend backend, PodStatsReader podStats,
                       StreamingService streaming) {
        this.pods = pods;
        this.containers = containers;
        this.backend = backend;
        this.podStats = podStats;
        this.streaming = streaming;
    }

    @Override
    public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
        Rpc.unary("Version", out, () -> VersionResponse.newBuilder().setVersion("0.1.0").setRuntimeName("pve-cri")
                .setRuntimeVersion(Version.VERSION).setRuntimeApiVersion("v1").build());
    }

    @Override
    public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
        Rpc.unary("Status", out, () -> {
            List<String> problems = backend.readinessProblems();
            RuntimeCondition runtime = RuntimeCondition.newBuilder().setType("RuntimeReady").setStatus(problems.isEmpty())
                    .setReason(problems.isEmpty() ? "" : "BackendNotReady").setMessage(String.join("; ", problems)).build();
            io.pvecri.network.Readiness net = pods.networkReadiness();
            RuntimeCondition network = RuntimeCondition.newBuilder().setType("NetworkReady").setStatus(net.ready())
                    .setReason(net.ready() ? "" : net.reason()).setMessage(net.message() == null ? "" : net.message()).build();
            StatusResponse.Builder b = StatusResponse.newBuilder()
                    .setStatus(RuntimeStatus.newBuilder().addConditions(runtime).addConditions(network))
                    .addRuntimeHandlers(RuntimeHandler.newBuilder().setName("").setFeatures(RuntimeHandlerFeatures.newBuilder()))
                    .addRuntimeHandlers(RuntimeHandler.newBuilder().setName(backend.name()).setFeatures(RuntimeHandlerFeatures.newBuilder()));
            if (req.getVerbose()) {
                b.putInfo("config", "{\"backend\":\"" + backend.name() + "\",\"version\":\"" + Version.VERSION + "\"}");
            }
            return b.build();
        });
    }

    @Override
    public void runtimeConfig(RuntimeConfigRequest req, StreamObserver<RuntimeConfigResponse> out) {
        Rpc.unary("RuntimeConfig", out, () -> RuntimeConfigResponse.newBuilder()
                .setLinux(LinuxRuntimeConfiguration.newBuilder().setCgroupDriver(CgroupDriver.CGROUPFS)).build());
    }

    @Override
    public void updateRuntimeConfig(UpdateRuntimeConfigRequest req, StreamObserver<UpdateRuntimeConfigResponse> out) {
        Rpc.unary("UpdateRuntimeConfig", out, () -> {
            String cidr = req.getRuntimeConfig().getNetworkConfig().getPodCidr();
            pods.updatePodCidr(cidr);
            LOG.info("runtime.config_updated", "pod_cidr", cidr.isEmpty() ? "-" : cidr);
            return UpdateRuntimeConfigResponse.getDefaultInstance();
        });
    }

    // ---- pods ---------------------------------------------------------------------------

    @Override
    public void runPodSandbox(RunPodSandboxRequest req, StreamObserver<RunPodSandboxResponse> out) {
        Rpc.unary("RunPodSandbox", out, () -> RunPodSandboxResponse.newBuilder()
                .setPodSandboxId(pods.run(req.getConfig(), req.getRuntimeHandler()).id()).build());
    }

    @Override
    public void stopPodSandbox(StopPodSandboxRequest req, StreamObserver<StopPodSandboxResponse> out) {
        Rpc.unary("StopPodSandbox", out, () -> {
            pods.stop(req.getPodSandboxId());
            return StopPodSandboxResponse.getDefaultInstance();
        });
    }

    @Override
    public void removePodSandbox(RemovePodSandboxRequest req, StreamObserver<RemovePodSandboxResponse> out) {
        Rpc.unary("RemovePodSandbox", out, () -> {
            pods.remove(req.getPodSandboxId());
            return RemovePodSandboxResponse.getDefaultInstance();
        });
    }

    @Override
    public void podSandboxStatus(PodSandboxStatusRequest req, StreamObserver<PodSandboxStatusResponse> out) {
        Rpc.unary("PodSandboxStatus", out, () -> {
            SandboxRecord r = pods.status(req.getPodSandboxId());
            PodSandboxStatusResponse.Builder b = PodSandboxStatusResponse.newBuilder().setStatus(CriMapper.sandboxStatus(r))
                    .setTimestamp(Times.nowNanos());
            if (req.getVerbose()) {
                b.putInfo("info", "{\"netns\":\"" + (r.hostNetwork() ? "host" : pods.netnsPath(r.id()).toString())
                        + "\",\"hostname\":\"" + r.hostname() + "\",\"backend\":\"" + backend.name() + "\"}");
            }
            return b.build();
        });
    }

    @Override
    public void listPodSandbox(ListPodSandboxRequest req, StreamObserver<ListPodSandboxResponse> out) {
        Rpc.unary("ListPodSandbox", out, () -> ListPodSandboxResponse.newBuilder().addAllItems(listPods(req.getFilter())).build());
    }

    @Override
    public void streamPodSandboxes(StreamPodSandboxesRequest req, StreamObserver<StreamPodSandboxesResponse> out) {
        Rpc.pages("StreamPodSandboxes", out, () -> listPods(req.getFilter()), PAGE,
                page -> StreamPodSandboxesResponse.newBuilder().addAllPodSandboxes(page).build());
    }

    private List<PodSandbox> listPods(PodSandboxFilter f) {
        Predicate<SandboxRecord> keep = r -> (f.getId().isEmpty() || r.id().startsWith(f.getId()))
                && (!f.hasState() || CriMapper.state(r) == f.getState().getState())
                && CriMapper.labelsMatch(r.labels(), f.getLabelSelectorMap());
        return pods.list().stream().filter(keep).map(CriMapper::sandbox).toList();
    }

    // ---- containers ---------------------------------------------------------------------

    @Override
    public void createContainer(CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
        Rpc.unary("CreateContainer", out, () -> CreateContainerResponse.newBuilder()
                .setContainerId(containers.create(req.getPodSandboxId(), req.getConfig()).id()).build());
    }

    @Override
    public void startContainer(StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
        Rpc.unary("StartContainer", out, () -> {
            containers.start(req.getContainerId());
            return StartContainerResponse.getDefaultInstance();
        });
    }

    @Override
    public void stopContainer(StopContainerRequest req, StreamObserver<StopContainerResponse> out) {
        Rpc.unary("StopContainer", out, () -> {
            containers.stop(req.getContainerId(), Math.max(0, req.getTimeout()));
            return StopContainerResponse.getDefaultInstance();
        });
    }

    @Override
    public void removeContainer(RemoveContainerRequest req, StreamObserver<RemoveContainerResponse> out) {
        Rpc.unary("RemoveContainer", out, () -> {
            containers.remove(req.getContainerId());
            return RemoveContainerResponse.getDefaultInstance();
        });
    }

    @Override
    public void listContainers(ListContainersRequest req, StreamObserver<ListContainersResponse> out) {
        Rpc.unary("ListContainers", out, () -> ListContainersResponse.newBuilder().addAllContainers(listContainers(req.getFilter())).build());
    }

    @Override
    public void streamContainers(StreamContainersRequest req, StreamObserver<StreamContainersResponse> out) {
        Rpc.pages("StreamContainers", out, () -> listContainers(req.getFilter()), PAGE,
                page -> StreamContainersResponse.newBuilder().addAllContainers(page).build());
    }

    private List<Container> listContainers(ContainerFilter f) {
        return containers.list().stream().map(CriMapper::container)
                .filter(c -> (f.getId().isEmpty() || c.getId().startsWith(f.getId()))
                        && (f.getPodSandboxId().isEmpty() || c.getPodSandboxId().startsWith(f.getPodSandboxId()))
                        && (!f.hasState() || c.getState() == f.getState().getState())
                        && CriMapper.labelsMatch(c.getLabelsMap(), f.getLabelSelectorMap()))
                .toList();
    }

    @Override
    public void containerStatus(ContainerStatusRequest req, StreamObserver<ContainerStatusResponse> out) {
        Rpc.unary("ContainerStatus", out, () -> {
            ContainerRecord r = containers.status(req.getContainerId());
            ContainerStatusResponse.Builder b = ContainerStatusResponse.newBuilder().setStatus(CriMapper.containerStatus(r));
            if (req.getVerbose()) {
                b.putInfo("info", "{\"pid\":" + r.initPid() + ",\"sandboxID\":\"" + r.sandboxId() + "\",\"backend\":\""
                        + backend.name() + "\",\"imageId\":\"" + r.imageId() + "\"}");
            }
            return b.build();
        });
    }

    @Override
    public void updateContainerResources(UpdateContainerResourcesRequest req, StreamObserver<UpdateContainerResourcesResponse> out) {
        Rpc.unary("UpdateContainerResources", out, () -> {
            containers.updateResources(req.getContainerId(), req.getLinux());
            return UpdateContainerResourcesResponse.getDefaultInstance();
        });
    }

    @Override
    public void reopenContainerLog(ReopenContainerLogRequest req, StreamObserver<ReopenContainerLogResponse> out) {
        Rpc.unary("ReopenContainerLog", out, () -> {
            containers.reopenLog(req.getContainerId());
            return ReopenContainerLogResponse.getDefaultInstance();
        });
    }

    @Override
    public void execSync(ExecSyncRequest req, StreamObserver<ExecSyncResponse> out) {
        Rpc.unary("ExecSync", out, () -> {
            ContainerManager.ExecResult r = containers.execSync(req.getContainerId(), req.getCmdList(), req.getTimeout());
            return ExecSyncResponse.newBuilder().setExitCode(r.exitCode())
                    .setStdout(ByteString.copyFrom(r.stdout())).setStderr(ByteString.copyFrom(r.stderr())).build();
        });
    }

    // ---- stats --------------------------------------------------------------------------

    @Override
    public void containerStats(ContainerStatsRequest req, StreamObserver<ContainerStatsResponse> out) {
        Rpc.unary("ContainerStats", out, () -> ContainerStatsResponse.newBuilder()
                .setStats(stats(containers.status(req.getContainerId()))).build());
    }

    @Override
    public void listContainerStats(ListContainerStatsRequest req, StreamObserver<ListContainerStatsResponse> out) {
        Rpc.unary("ListContainerStats", out, () -> ListContainerStatsResponse.newBuilder().addAllStats(listStats(req.getFilter())).build());
    }

    @Override
    public void streamContainerStats(StreamContainerStatsRequest req, StreamObserver<StreamContainerStatsResponse> out) {
        Rpc.pages("StreamContainerStats", out, () -> listStats(req.getFilter()), PAGE,
                page -> StreamContainerStatsResponse.newBuilder().addAllContainerStats(page).build());
    }

    private List<ContainerStats> listStats(ContainerStatsFilter f) {
        List<ContainerStats> out = new ArrayList<>();
        for (ContainerRecord r : containers.list()) {
            Map<String, String> labels = CriMapper.containerConfig(r).getLabelsMap();
            if ((f.getId().isEmpty() || r.id().startsWith(f.getId()))
                    && (f.getPodSandboxId().isEmpty() || r.sandboxId().startsWith(f.getPodSandboxId()))
                    && CriMapper.labelsMatch(labels, f.getLabelSelectorMap())
                    && r.state() == ContainerRecord.State.RUNNING) {
                out.add(stats(r));
            }
        }
        return out;
    }

    private ContainerStats stats(ContainerRecord r) {
        return CriMapper.containerStats(r, containers.stats(r), containers.writableLayer(r.id()).toString());
    }

    @Override
    public void podSandboxStats(PodSandboxStatsRequest req, StreamObserver<PodSandboxStatsResponse> out) {
        Rpc.unary("PodSandboxStats", out, () -> PodSandboxStatsResponse.newBuilder()
                .setStats(podStats.read(pods.status(req.getPodSandboxId()))).build());
    }

    @Override
    public void listPodSandboxStats(ListPodSandboxStatsRequest req, StreamObserver<ListPodSandboxStatsResponse> out) {
        Rpc.unary("ListPodSandboxStats", out, () -> ListPodSandboxStatsResponse.newBuilder().addAllStats(listPodStats(req.getFilter())).build());
    }

    @Override
    public void streamPodSandboxStats(StreamPodSandboxStatsRequest req, StreamObserver<StreamPodSandboxStatsResponse> out) {
        Rpc.pages("StreamPodSandboxStats", out, () -> listPodStats(req.getFilter()), PAGE,
                page -> StreamPodSandboxStatsResponse.newBuilder().addAllPodSandboxStats(page).build());
    }

    private List<PodSandboxStats> listPodStats(PodSandboxStatsFilter f) {
        return pods.list().stream()
                .filter(r -> r.state() == SandboxRecord.State.READY
                        && (f.getId().isEmpty() || r.id().startsWith(f.getId()))
                        && CriMapper.labelsMatch(r.labels(), f.getLabelSelectorMap()))
                .map(podStats::read).toList();
    }

    @Override
    public void updatePodSandboxResources(UpdatePodSandboxResourcesRequest req, StreamObserver<UpdatePodSandboxResourcesResponse> out) {
        Rpc.unary("UpdatePodSandboxResources", out, () -> {
            // Pods have no cgroup of their own here: kubelet also updates each container, which is
            // where limits are enforced. The request is checked and recorded in the log.
            SandboxRecord r = pods.status(req.getPodSandboxId());
            LOG.info("pod.resources_update_noted", "id", r.id(), "memory_limit", req.getOverhead().getMemoryLimitInBytes());
            return UpdatePodSandboxResourcesResponse.getDefaultInstance();
        });
    }

    // ---- owned by later work or not offered ---------------------------------------------

    @Override
    public void exec(ExecRequest req, StreamObserver<ExecResponse> out) {
        Rpc.unary("Exec", out, () -> streaming.exec(req));
    }

    @Override
    public void attach(AttachRequest req, StreamObserver<AttachResponse> out) {
        Rpc.unary("Attach", out, () -> streaming.attach(req));
    }

    @Override
    public void portForward(PortForwardRequest req, StreamObserver<PortForwardResponse> out) {
        Rpc.unary("PortForward", out, () -> streaming.portForward(req));
    }

    @Override
    public void checkpointContainer(CheckpointContainerRequest req, StreamObserver<CheckpointContainerResponse> out) {
        out.onError(unimplemented("CheckpointContainer", "container checkpointing is not supported by pve-cri"));
    }

    @Override
    public void getContainerEvents(GetEventsRequest req, StreamObserver<ContainerEventResponse> out) {
        out.onError(unimplemented("GetContainerEvents", "container events are not offered; kubelet falls back to relisting (generic PLEG)"));
    }

    @Override
    public void listMetricDescriptors(ListMetricDescriptorsRequest req, StreamObserver<ListMetricDescriptorsResponse> out) {
        out.onError(unimplemented("ListMetricDescriptors", "CRI metric descriptors are not offered; use the CRI stats RPCs"));
    }

    @Override
    public void listPodSandboxMetrics(ListPodSandboxMetricsRequest req, StreamObserver<ListPodSandboxMetricsResponse> out) {
        out.onError(unimplemented("ListPodSandboxMetrics", "CRI pod metrics are not offered; use the CRI stats RPCs"));
    }

    @Override
    public void streamPodSandboxMetrics(StreamPodSandboxMetricsRequest req, StreamObserver<StreamPodSandboxMetricsResponse> out) {
        out.onError(unimplemented("StreamPodSandboxMetrics", "CRI pod metrics are not offered; use the CRI stats RPCs"));
    }

    private static io.grpc.StatusRuntimeException unimplemented(String method, String message) {
        return Status.UNIMPLEMENTED.withDescription(method + ": " + message).asRuntimeException();
    }

}
