package io.pvecri.gpu;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * One GPU in one sample.
 *
 * @param computeProcesses        processes with a compute context on it
 * @param unattributedMemoryBytes memory of processes that belong to no known container
 * @param error                   what failed while sampling it; the numbers that failed are 0
 */
public record GpuReading(int index, String uuid, String name, long memoryTotalBytes, long memoryUsedBytes,
                         long memoryFreeBytes, int utilizationGpuPercent, int utilizationMemoryPercent,
                         OptionalInt temperatureCelsius, OptionalInt powerMilliwatts, int computeProcesses,
                         long unattributedMemoryBytes, UtilizationSource utilizationSource, Optional<String> error) {
}
