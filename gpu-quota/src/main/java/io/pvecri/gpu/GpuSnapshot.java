package io.pvecri.gpu;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One sample of the node's GPUs, for metrics and {@code pve-cri gpus}.
 *
 * @param sequence        1 for the first sample, +1 each
 * @param sampleDuration  how long reading NVML and /proc took
 * @param violationsTotal violations counted on this node since start (also of released containers)
 * @param stopsTotal      containers stopped for their quota since start
 */
public record GpuSnapshot(Instant takenAt, long sequence, Duration sampleDuration, List<GpuReading> gpus,
                          List<ContainerGpuUsage> containers, List<QuotaStatus> quotas, long violationsTotal,
                          long stopsTotal) {

    public GpuSnapshot {
        gpus = List.copyOf(gpus);
        containers = List.copyOf(containers);
        quotas = List.copyOf(quotas);
    }
}
