package io.pvecri.daemon.server;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pvecri.proto.cri.v1.UInt64Value;
import io.pvecri.daemon.container.ContainerRecord;
import io.pvecri.daemon.container.ResourceControl;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.proto.cri.v1.Container;
import io.pvecri.proto.cri.v1.ContainerAttributes;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.ContainerMetadata;
import io.pvecri.proto.cri.v1.ContainerResources;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ContainerStats;
import io.pvecri.proto.cri.v1.ContainerStatus;
import io.pvecri.proto.cri.v1.ContainerUser;
import io.pvecri.proto.cri.v1.CpuUsage;
import io.pvecri.proto.cri.v1.FilesystemIdentifier;
import io.pvecri.proto.cri.v1.FilesystemUsage;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.LinuxContainerResources;
import io.pvecri.proto.cri.v1.LinuxContainerUser;
import io.pvecri.proto.cri.v1.LinuxPodSandboxStatus;
import io.pvecri.proto.cri.v1.MemoryUsage;
import io.pvecri.proto.cri.v1.Namespace;
import io.pvecri.proto.cri.v1.PodIP;
import io.pvecri.proto.cri.v1.PodSandbox;
import io.pvecri.proto.cri.v1.PodSandboxConfig;
import io.pvecri.proto.cri.v1.PodSandboxMetadata;
import io.pvecri.proto.cri.v1.PodSandboxNetworkStatus;
import io.pvecri.proto.cri.v1.PodSandboxState;
import io.pvecri.proto.cri.v1.PodSandboxStatus;
import io.pvecri.proto.cri.v1.Signal;

import java.util.Map;

/** Records to CRI messages. */
final class CriMapper {
    private CriMapper() {}

    static PodSandboxMetadata metadata(SandboxRecord r) {
        return PodSandboxMetadata.newBuilder().setName(r.name()).setNamespace(r.namespace()).setUid(r.uid()).setAttempt(r.attempt()).build();
    }

    static PodSandboxState state(SandboxRecord r) {
        return r.state() == SandboxRecord.State.READY ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
    }

    static PodSandbox sandbox(SandboxRecord r) {
        return PodSandbox.newBuilder().setId(r.id()).setMetadata(metadata(r)).setState(state(r)).setCreatedAt(r.createdAtNanos())
                .putAllLabels(r.labels()).putAllAnnotations(r.annotations()).setRuntimeHandler(r.runtimeHandler()).build();
    }

    static PodSandboxStatus sandboxStatus(SandboxRecord r) {
        PodSandboxConfig cfg = podConfig(r);
        return PodSandboxStatus.newBuilder().setId(r.id()).setMetadata(metadata(r)).setState(state(r))
                .setCreatedAt(r.createdAtNanos())
                .setNetwork(PodSandboxNetworkStatus.newBuilder().setIp(r.ip())
                        .addAllAdditionalIps(r.additionalIps().stream().map(ip -> PodIP.newBuilder().setIp(ip).build()).toList()))
                .setLinux(LinuxPodSandboxStatus.newBuilder().setNamespaces(Namespace.newBuilder()
                        .setOptions(cfg.getLinux().getSecurityContext().getNamespaceOptions())))
                .putAllLabels(r.labels()).putAllAnnotations(r.annotations()).setRuntimeHandler(r.runtimeHandler()).build();
    }

    static PodSandboxConfig podConfig(SandboxRecord r) {
        try {
            return PodSandboxConfig.parseFrom(r.config());
        } catch (InvalidProtocolBufferException e) {
            return PodSandboxConfig.getDefaultInstance();
        }
    }

    static ContainerConfig containerConfig(ContainerRecord r) {
        try {
            return ContainerConfig.parseFrom(r.config());
        } catch (InvalidProtocolBufferException e) {
            return ContainerConfig.getDefaultInstance();
        }
    }

    static LinuxContainerResources resources(ContainerRecord r) {
        try {
            return LinuxContainerResources.parseFrom(r.resources());
        } catch (InvalidProtocolBufferException e) {
            return LinuxContainerResources.getDefaultInstance();
        }
    }

    static ContainerState state(ContainerRecord r) {
        return switch (r.state()) {
            case CREATED -> ContainerState.CONTAINER_CREATED;
            case RUNNING -> ContainerState.CONTAINER_RUNNING;
            case EXITED -> ContainerState.CONTAINER_EXITED;
            case UNKNOWN -> ContainerState.CONTAINER_UNKNOWN;
        };
    }

    static ContainerMetadata metadata(ContainerRecord r) {
        return ContainerMetadata.newBuilder().setName(r.name()).setAttempt(r.attempt()).build();
    }

    static Container container(ContainerRecord r) {
        ContainerConfig c = containerConfig(r);
        return Container.newBuilder().setId(r.id()).setPodSandboxId(r.sandboxId()).setMetadata(metadata(r))
                .setImage(ImageSpec.newBuilder().setImage(r.image()).putAllAnnotations(c.getImage().getAnnotationsMap()))
                .setImageRef(r.imageRef()).setImageId(r.imageId()).setState(state(r)).setCreatedAt(r.createdAtNanos())
                .putAllLabels(c.getLabelsMap()).putAllAnnotations(c.getAnnotationsMap()).build();
    }

    static ContainerStatus containerStatus(ContainerRecord r) {
        ContainerConfig c = containerConfig(r);
        var sc = c.getLinux().getSecurityContext();
        LinuxContainerUser.Builder user = LinuxContainerUser.newBuilder();
        if (sc.hasRunAsUser()) {
            user.setUid(sc.getRunAsUser().getValue());
        }
        if (sc.hasRunAsGroup()) {
            user.setGid(sc.getRunAsGroup().getValue());
        }
        user.addAllSupplementalGroups(sc.getSupplementalGroupsList());
        return ContainerStatus.newBuilder().setId(r.id()).setMetadata(metadata(r)).setState(state(r))
                .setCreatedAt(r.createdAtNanos()).setStartedAt(r.startedAtNanos()).setFinishedAt(r.finishedAtNanos())
                .setExitCode(r.exitCode())
                .setImage(ImageSpec.newBuilder().setImage(r.image()).putAllAnnotations(c.getImage().getAnnotationsMap()))
                .setImageRef(r.imageRef()).setImageId(r.imageId())
                .setReason(r.reason()).setMessage(r.message())
                .putAllLabels(c.getLabelsMap()).putAllAnnotations(c.getAnnotationsMap())
                .addAllMounts(c.getMountsList()).setLogPath(r.logPath())
                .setResources(ContainerResources.newBuilder().setLinux(resources(r)))
                .setUser(ContainerUser.newBuilder().setLinux(user))
                .setStopSignal(stopSignal(r.stopSignal()))
                .build();
    }

    private static Signal stopSignal(int number) {
        Signal s = Signal.forNumber(number);
        return s == null ? Signal.RUNTIME_DEFAULT : s;
    }

    static ContainerAttributes attributes(ContainerRecord r) {
        ContainerConfig c = containerConfig(r);
        return ContainerAttributes.newBuilder().setId(r.id()).setMetadata(metadata(r))
                .putAllLabels(c.getLabelsMap()).putAllAnnotations(c.getAnnotationsMap()).build();
    }

    static ContainerStats containerStats(ContainerRecord r, ResourceControl.Stats s, String writableMount) {
        return ContainerStats.newBuilder().setAttributes(attributes(r))
                .setCpu(cpu(s.timestampNanos(), s.cpuCoreNanos()))
                .setMemory(memory(s))
                .setWritableLayer(FilesystemUsage.newBuilder().setTimestamp(s.timestampNanos())
                        .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(writableMount))
                        .setUsedBytes(u64(s.writableBytes())).setInodesUsed(u64(s.writableInodes())))
                .build();
    }

    static CpuUsage cpu(long ts, long coreNanos) {
        return CpuUsage.newBuilder().setTimestamp(ts).setUsageCoreNanoSeconds(u64(coreNanos)).build();
    }

    static MemoryUsage memory(ResourceControl.Stats s) {
        MemoryUsage.Builder b = MemoryUsage.newBuilder().setTimestamp(s.timestampNanos()).setWorkingSetBytes(u64(s.workingSetBytes()))
                .setUsageBytes(u64(s.usageBytes())).setRssBytes(u64(s.rssBytes()))
                .setPageFaults(u64(s.pageFaults())).setMajorPageFaults(u64(s.majorPageFaults()));
        if (s.availableBytes() > 0) {
            b.setAvailableBytes(u64(s.availableBytes())); // only meaningful under a memory limit
        }
        return b.build();
    }

    static UInt64Value u64(long v) {
        return UInt64Value.newBuilder().setValue(Math.max(0, v)).build();
    }

    static boolean labelsMatch(Map<String, String> labels, Map<String, String> selector) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }
}
