package io.pvecri.gpu;

import java.time.Instant;
import java.util.List;

/**
 * What a container holds. Persisted; keyed by container id.
 *
 * @param gpuUuids       the GPUs (one for a share, none for driver-only)
 * @param memoryMib      a share's memory (0 = not limited); 0 for whole GPUs
 * @param computePercent a share's compute (0 = not limited); 0 for whole GPUs
 * @param request        the canonical form of the request that made it
 */
public record GpuAllocation(String containerId, Kind kind, List<String> gpuUuids, long memoryMib, int computePercent,
                            QuotaSettings quota, ContainerLabels labels, String request, Instant createdAt) {

    /** What kind of grant an allocation is. */
    public enum Kind {
        /** Whole GPUs, exclusively. */
        WHOLE,
        /** Part of one GPU, shared with other shares. */
        SHARE,
        /** No GPU, the driver's user-space files only. */
        DRIVER_ONLY
    }

    public GpuAllocation {
        gpuUuids = List.copyOf(gpuUuids);
    }

    /** The share's memory limit in bytes, 0 when memory is not limited. */
    public long memoryLimitBytes() {
        return memoryMib * GpuDevice.MIB;
    }
}
