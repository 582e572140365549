package io.pvecri.daemon.gpu;

import io.pvecri.gpu.ContainerGpuUsage;
import io.pvecri.gpu.GpuAllocation;
import io.pvecri.gpu.GpuCapacity;
import io.pvecri.gpu.GpuDevice;
import io.pvecri.gpu.GpuReading;
import io.pvecri.gpu.GpuService;
import io.pvecri.gpu.GpuSnapshot;
import io.pvecri.gpu.QuotaStatus;
import io.pvecri.proto.admin.v1.GpuAllocationInfo;
import io.pvecri.proto.admin.v1.GpuDeviceInfo;
import io.pvecri.proto.admin.v1.ListGpuAllocationsResponse;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The admin API's view of the GPUs ({@code ListGpuAllocations}, shown by {@code pve-cri gpus}). */
public final class GpuReport {
    private GpuReport() {}

    public static ListGpuAllocationsResponse of(GpuService service) {
        Optional<GpuSnapshot> snapshot = service.latestSnapshot();
        Map<String, GpuReading> readings = new HashMap<>();
        Map<String, long[]> memory = new HashMap<>();
        Map<String, double[]> compute = new HashMap<>();
        Map<String, QuotaStatus> quotas = new HashMap<>();
        snapshot.ifPresent(s -> {
            s.gpus().forEach(r -> readings.put(r.uuid(), r));
            for (ContainerGpuUsage u : s.containers()) {
                memory.computeIfAbsent(u.containerId(), k -> new long[1])[0] += u.memoryUsedBytes();
                compute.computeIfAbsent(u.containerId(), k -> new double[1])[0] += u.computePercent();
            }
            s.quotas().forEach(q -> quotas.put(q.containerId(), q));
        });
        Map<String, GpuCapacity> capacity = new HashMap<>();
        service.capacity().forEach(c -> capacity.put(c.uuid(), c));

        ListGpuAllocationsResponse.Builder b = ListGpuAllocationsResponse.newBuilder()
                .setUnavailableReason(service.unavailableReason().orElse(""));
        snapshot.ifPresent(s -> b.setSampledAtUnixNanos(s.takenAt().getEpochSecond() * 1_000_000_000L + s.takenAt().getNano()));
        for (GpuDevice d : service.devices()) {
            GpuDeviceInfo.Builder g = GpuDeviceInfo.newBuilder().setIndex(d.index()).setUuid(d.uuid()).setName(d.name())
                    .setMemoryTotalBytes(d.memoryTotalBytes()).setTemperatureCelsius(-1).setPowerMilliwatts(-1);
            GpuReading r = readings.get(d.uuid());
            if (r != null) {
                g.setMemoryUsedBytes(r.memoryUsedBytes()).setUtilizationPercent(r.utilizationGpuPercent())
                        .setTemperatureCelsius(r.temperatureCelsius().orElse(-1)).setPowerMilliwatts(r.powerMilliwatts().orElse(-1));
            }
            GpuCapacity c = capacity.get(d.uuid());
            if (c != null) {
                g.setHeldWholeBy(c.wholeOwner().orElse("")).setMemoryFreeMib(c.memoryFreeMib())
                        .setComputeFreePercent(c.computeFreePercent()).setShares(c.shares());
            }
            b.addGpus(g);
        }
        List<GpuAllocation> allocations = service.allocations();
        for (GpuAllocation a : allocations) {
            GpuAllocationInfo.Builder i = GpuAllocationInfo.newBuilder().setContainerId(a.containerId())
                    .setNamespace(a.labels().namespace()).setPod(a.labels().pod()).setContainer(a.labels().container())
                    .setKind(switch (a.kind()) {
                        case WHOLE -> "whole";
                        case SHARE -> "share";
                        case DRIVER_ONLY -> "driver-only";
                    })
                    .addAllGpuUuids(a.gpuUuids()).setMemoryMib(a.memoryMib()).setComputePercent(a.computePercent())
                    .setPolicy(a.quota().policy().id()).setViolationWindow(a.quota().violationWindow())
                    .setRequest(a.request())
                    .setCreatedAtUnixNanos(a.createdAt().getEpochSecond() * 1_000_000_000L + a.createdAt().getNano())
                    .setMemoryUsedBytes(memory.getOrDefault(a.containerId(), new long[1])[0])
                    .setComputeUsedPercent(compute.getOrDefault(a.containerId(), new double[1])[0]);
            QuotaStatus q = quotas.get(a.containerId());
            if (q != null) {
                i.setViolations(q.violations()).setLastViolation(q.lastViolation().orElse("")).setStopRequested(q.stopRequested());
            }
            b.addAllocations(i);
        }
        return b.build();
    }
}
