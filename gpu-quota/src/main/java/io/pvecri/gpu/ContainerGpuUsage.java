package io.pvecri.gpu;

import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A container's use of one GPU in one sample.
 *
 * @param computePercent     its share of the GPU's compute, 0..100 (see {@link GpuReading#utilizationSource()})
 * @param memoryLimitBytes   its share's memory, when limited
 * @param computeLimitPercent its share's compute, when limited
 * @param allocated          false for processes of a container that holds no allocation on this GPU
 */
public record ContainerGpuUsage(String containerId, ContainerLabels labels, String gpuUuid, long memoryUsedBytes,
                                double computePercent, OptionalLong memoryLimitBytes, OptionalInt computeLimitPercent,
                                List<Long> pids, boolean allocated) {

    public ContainerGpuUsage {
        pids = List.copyOf(pids);
    }
}
