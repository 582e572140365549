package io.pvecri.daemon.gpu;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.config.GpuSection;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.container.ContainerRecord;
import io.pvecri.daemon.container.DeviceAllocator;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.Log;
import io.pvecri.gpu.ContainerLabels;
import io.pvecri.gpu.GpuAdmissionException;
import io.pvecri.gpu.GpuAllocation;
import io.pvecri.gpu.GpuConflictException;
import io.pvecri.gpu.GpuException;
import io.pvecri.gpu.GpuIoException;
import io.pvecri.gpu.GpuPassthrough;
import io.pvecri.gpu.GpuService;
import io.pvecri.gpu.InvalidGpuRequestException;
import io.pvecri.gpu.Nvml;
import io.pvecri.gpu.NvmlException;
import io.pvecri.gpu.ProcessOwner;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The daemon's side of the GPU module: opens {@link GpuService}, maps host PIDs to containers
 * through their LXC cgroup ({@code lxc.payload.<container id>}), stops containers whose quota
 * policy says so, and hands GPUs to {@link ContainerManager} as a {@link DeviceAllocator}. This is
 * the one place where {@link GpuException}s become gRPC-mapped {@link CriException}s.
 */
public final class GpuDevices implements DeviceAllocator, AutoCloseable {
    private static final Log LOG = Log.get(GpuDevices.class);
    /** The reason a container stopped by its GPU quota shows in ContainerStatus. */
    public static final String QUOTA_REASON = "GpuQuotaExceeded";
    private static final String PAYLOAD_PREFIX = "lxc.payload.";

    /** Set once by {@link #open}; the service's callbacks reach this instance. */
    private GpuService service;
    private volatile ContainerManager containers;

    private GpuDevices() {}

    /**
     * Opens the GPU service as configured. A node without NVIDIA hardware (or with GPUs disabled,
     * or an NVML that fails to initialise) gets a service with zero devices, and one log line.
     *
     * @throws GpuIoException the allocation table cannot be read or locked (starting empty
     *                        would over-commit GPUs, so the daemon does not start)
     */
    public static GpuDevices open(GpuSection.Settings settings) throws GpuException {
        Nvml nvml;
        if (!settings.enabled()) {
            nvml = new NoNvml("GPUs are disabled in the config (gpu.enabled: false)");
            LOG.info("gpu.disabled", "note", "GPU requests will be refused, everything else works");
        } else {
            try {
                nvml = Nvml.load(settings.config());
            } catch (NvmlException e) {
                nvml = new NoNvml("NVML failed: " + e.getMessage());
                LOG.warn("gpu.nvml_failed", "error", e.getMessage(), "note", "running without GPUs; GPU requests will be refused");
            }
        }
        return open(settings.config(), nvml);
    }

    /** Opens the service on a given NVML (a fake in tests); the service owns it from here on. */
    static GpuDevices open(io.pvecri.gpu.GpuConfig config, Nvml nvml) throws GpuException {
        GpuDevices devices = new GpuDevices();
        devices.service = GpuService.open(config, nvml, ProcessOwner.fromCgroups(devices::containerOfCgroup), devices::stop);
        return devices;
    }

    /** Connects the containers: PIDs are attributed to them, and quota stops go through them. */
    public void bind(ContainerManager containers) {
        this.containers = containers;
    }

    /**
     * After recovery: releases the allocations of containers that no longer exist, then starts
     * sampling and enforcement.
     */
    public void start(Set<String> liveContainerIds) throws GpuIoException {
        List<String> released = service.reconcile(liveContainerIds);
        for (String id : released) {
            LOG.info("gpu.allocation_released_orphan", "id", id);
        }
        LOG.info("gpu.ready", "gpus", service.devices().size(), "allocations", service.allocations().size(),
                "unavailable", service.unavailableReason().orElse(""));
        service.startMonitoring();
    }

    public GpuService service() {
        return service;
    }

    // ---- DeviceAllocator -----------------------------------------------------------------

    @Override
    public Optional<Grant> allocate(String containerId, Request request) {
        Optional<GpuAllocation> allocation;
        try {
            allocation = service.allocate(containerId, new ContainerLabels(request.namespace(), request.pod(),
                    request.container()), request.env(), request.annotations());
        } catch (GpuException e) {
            LOG.warn("gpu.allocation_refused", "id", containerId, "pod", request.namespace() + "/" + request.pod(),
                    "container", request.container(), "error", e.getMessage());
            throw toCri(e);
        }
        if (allocation.isEmpty()) {
            return Optional.empty();
        }
        try {
            GpuPassthrough p = service.passthrough(containerId).orElseThrow();
            GpuAllocation a = allocation.get();
            LOG.info("gpu.allocated", "id", containerId, "pod", request.namespace() + "/" + request.pod(),
                    "container", request.container(), "kind", a.kind().name().toLowerCase(), "gpus", String.join(",", a.gpuUuids()),
                    "memory_mib", a.memoryMib(), "compute_percent", a.computePercent(), "policy", a.quota().policy().id());
            return Optional.of(grant(p));
        } catch (GpuException | RuntimeException e) {
            release(containerId);
            throw e instanceof GpuException g ? toCri(g) : (RuntimeException) e;
        }
    }

    @Override
    public void release(String containerId) {
        try {
            if (service.release(containerId)) {
                LOG.info("gpu.released", "id", containerId);
            }
        } catch (GpuIoException e) {
            throw toCri(e);
        }
    }

    static Grant grant(GpuPassthrough p) {
        List<LaunchSpec.Device> devices = p.devices().stream()
                .map(d -> new LaunchSpec.Device(d.hostPath(), d.containerPath().toString(), 'c', d.major(), d.minor(), "rwm"))
                .toList();
        List<LaunchSpec.BindMount> mounts = p.mounts().stream()
                .map(m -> new LaunchSpec.BindMount(m.hostPath(), m.containerPath().toString(), m.readOnly(),
                        LaunchSpec.Propagation.PRIVATE, false))
                .toList();
        return new Grant(devices, mounts, p.env());
    }

    /** The one mapping of GPU failures to the daemon's errors (and so to gRPC statuses). */
    static CriException toCri(GpuException e) {
        return switch (e) {
            case InvalidGpuRequestException x -> CriException.invalid(x.getMessage());
            case GpuAdmissionException x -> new CriException.ResourceExhausted(x.getMessage());
            case GpuConflictException x -> CriException.alreadyExists(x.getMessage());
            case NvmlException x -> new CriException.Unavailable(x.getMessage(), x);
            case GpuIoException x -> CriException.internal(x.getMessage(), x);
        };
    }

    // ---- callbacks of the service (sampling thread) -----------------------------------------

    /** {@code .../lxc.payload.<name>/...} → the container id, when it is one of our containers. */
    Optional<String> containerOfCgroup(String cgroupPath) {
        ContainerManager c = containers;
        if (c == null) {
            return Optional.empty();
        }
        try {
            return payloadName(cgroupPath).flatMap(c::findByLxcName).map(ContainerRecord::id);
        } catch (RuntimeException notOurs) {
            return Optional.empty();
        }
    }

    /** The LXC container name in a cgroup path ({@code /…/lxc.payload.<name>/…}), if it is in one. */
    static Optional<String> payloadName(String cgroupPath) {
        for (String segment : cgroupPath.split("/")) {
            if (segment.startsWith(PAYLOAD_PREFIX) && segment.length() > PAYLOAD_PREFIX.length()) {
                return Optional.of(segment.substring(PAYLOAD_PREFIX.length()));
            }
        }
        return Optional.empty();
    }

    void stop(String containerId, String reason) {
        ContainerManager c = containers;
        if (c == null) {
            throw new IllegalStateException("the daemon is still starting");
        }
        c.stopFor(containerId, QUOTA_REASON, reason);
    }

    @Override
    public void close() {
        service.close();
    }
}
