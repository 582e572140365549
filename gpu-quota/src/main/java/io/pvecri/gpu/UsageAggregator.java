package io.pvecri.gpu;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Sums a sample's processes per container and GPU and puts each next to the container's share.
 * Every GPU a container holds gets an entry, also with no process on it (usage 0).
 */
final class UsageAggregator {

    private UsageAggregator() {
    }

    static List<ContainerGpuUsage> aggregate(List<UsageSampler.DeviceSample> samples, Collection<GpuAllocation> allocations) {
        Map<String, GpuAllocation> byId = allocations.stream()
                .collect(Collectors.toMap(GpuAllocation::containerId, Function.identity()));
        List<ContainerGpuUsage> out = new ArrayList<>();
        for (UsageSampler.DeviceSample s : samples) {
            String uuid = s.device().uuid();
            Map<String, List<UsageSampler.ProcessSample>> byContainer = new TreeMap<>();
            for (UsageSampler.ProcessSample p : s.processes()) {
                p.containerId().ifPresent(id -> byContainer.computeIfAbsent(id, k -> new ArrayList<>()).add(p));
            }
            Set<String> seen = new HashSet<>();
            for (Map.Entry<String, List<UsageSampler.ProcessSample>> e : byContainer.entrySet()) {
                long memory = 0;
                double compute = 0;
                List<Long> pids = new ArrayList<>();
                for (UsageSampler.ProcessSample p : e.getValue()) {
                    memory += p.usedBytes();
                    compute += p.computePercent();
                    pids.add(p.pid());
                }
                out.add(usage(e.getKey(), byId.get(e.getKey()), uuid, memory, Math.min(100.0, compute), pids));
                seen.add(e.getKey());
            }
            for (GpuAllocation a : allocations) {
                if (a.gpuUuids().contains(uuid) && !seen.contains(a.containerId())) {
                    out.add(usage(a.containerId(), a, uuid, 0, 0, List.of()));
                }
            }
        }
        out.sort(Comparator.comparing(ContainerGpuUsage::containerId));
        return out;
    }

    private static ContainerGpuUsage usage(String containerId, GpuAllocation a, String uuid, long memory,
                                           double compute, List<Long> pids) {
        boolean allocated = a != null && a.gpuUuids().contains(uuid);
        boolean share = allocated && a.kind() == GpuAllocation.Kind.SHARE;
        OptionalLong memoryLimit = share && a.memoryMib() > 0 ? OptionalLong.of(a.memoryLimitBytes()) : OptionalLong.empty();
        OptionalInt computeLimit = share && a.computePercent() > 0 ? OptionalInt.of(a.computePercent()) : OptionalInt.empty();
        return new ContainerGpuUsage(containerId, a == null ? ContainerLabels.NONE : a.labels(), uuid, memory, compute,
                memoryLimit, computeLimit, pids, allocated);
    }
}
