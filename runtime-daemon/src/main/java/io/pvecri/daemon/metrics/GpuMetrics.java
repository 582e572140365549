package io.pvecri.daemon.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.pvecri.gpu.ContainerGpuUsage;
import io.pvecri.gpu.GpuCapacity;
import io.pvecri.gpu.GpuDevice;
import io.pvecri.gpu.GpuReading;
import io.pvecri.gpu.GpuService;
import io.pvecri.gpu.GpuSnapshot;
import io.pvecri.gpu.QuotaStatus;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * GPU metrics from the GPU service's latest sample (docs/gpu.md lists them): per GPU
 * ({@code pvecri_gpu_*{gpu_uuid}}), per container and GPU
 * ({@code pvecri_container_gpu_*{namespace,pod,container,gpu_uuid}}), and quota violations
 * ({@code pvecri_gpu_quota_violations_total{namespace,pod,container,resource,policy}}).
 * {@link #refresh()} reads a new sample into the meters; {@link #poll} does that every sample
 * interval on a virtual thread. Rows of GPUs and containers that went away are removed.
 */
public final class GpuMetrics {
    private final MeterRegistry registry;
    private final GpuService gpus;
    private final List<Family<GpuReading>> gpuFamilies = new ArrayList<>();
    private final List<Family<ContainerGpuUsage>> containerFamilies = new ArrayList<>();
    private final MultiGauge info;
    private final MultiGauge allocatedMemory;
    private final MultiGauge allocatedCompute;
    private final MultiGauge shares;
    /** Violations per (namespace, pod, container, resource, policy), as the last sample counted them. */
    private final Map<Tags, AtomicLong> violations = new ConcurrentHashMap<>();
    private final Map<Tags, Meter> violationMeters = new ConcurrentHashMap<>();
    private final Map<String, Counter> sampleErrors = new ConcurrentHashMap<>();
    private final AtomicLong stops = new AtomicLong();
    private final AtomicLong sampleNanos = new AtomicLong();
    private long lastSequence;

    private record Family<T>(MultiGauge gauge, Function<T, Double> value) {}

    public GpuMetrics(MeterRegistry registry, GpuService gpus) {
        this.registry = registry;
        this.gpus = gpus;
        gpuFamily("pvecri.gpu.memory.total.bytes", "GPU framebuffer size", r -> (double) r.memoryTotalBytes());
        gpuFamily("pvecri.gpu.memory.used.bytes", "GPU memory in use (NVML)", r -> (double) r.memoryUsedBytes());
        gpuFamily("pvecri.gpu.memory.free.bytes", "GPU memory free (NVML)", r -> (double) r.memoryFreeBytes());
        gpuFamily("pvecri.gpu.utilization.percent", "GPU compute utilization over the last NVML sample period",
                r -> (double) r.utilizationGpuPercent());
        gpuFamily("pvecri.gpu.memory.utilization.percent", "GPU memory bandwidth utilization",
                r -> (double) r.utilizationMemoryPercent());
        gpuFamily("pvecri.gpu.temperature.celsius", "GPU die temperature",
                r -> r.temperatureCelsius().isPresent() ? (double) r.temperatureCelsius().getAsInt() : Double.NaN);
        gpuFamily("pvecri.gpu.power.watts", "GPU power draw",
                r -> r.powerMilliwatts().isPresent() ? r.powerMilliwatts().getAsInt() / 1000.0 : Double.NaN);
        gpuFamily("pvecri.gpu.compute.processes", "processes with a compute context on the GPU",
                r -> (double) r.computeProcesses());
        gpuFamily("pvecri.gpu.unattributed.memory.bytes", "GPU memory of processes that are no pve-cri container's",
                r -> (double) r.unattributedMemoryBytes());
        containerFamily("pvecri.container.gpu.memory.bytes", "GPU memory used by the container's processes",
                u -> (double) u.memoryUsedBytes());
        containerFamily("pvecri.container.gpu.utilization.percent", "the container's share of the GPU's compute",
                ContainerGpuUsage::computePercent);
        containerFamily("pvecri.container.gpu.share.memory.bytes", "the container's GPU memory share (shares only)",
                u -> u.memoryLimitBytes().isPresent() ? (double) u.memoryLimitBytes().getAsLong() : Double.NaN);
        containerFamily("pvecri.container.gpu.share.compute.percent", "the container's GPU compute share (shares only)",
                u -> u.computeLimitPercent().isPresent() ? (double) u.computeLimitPercent().getAsInt() : Double.NaN);
        info = MultiGauge.builder("pvecri.gpu.device").description("1 per GPU, with its identity as labels").register(registry);
        allocatedMemory = MultiGauge.builder("pvecri.gpu.allocated.memory.bytes").description("GPU memory reserved by shares")
                .register(registry);
        allocatedCompute = MultiGauge.builder("pvecri.gpu.allocated.compute.percent").description("GPU compute reserved by shares")
                .register(registry);
        shares = MultiGauge.builder("pvecri.gpu.shares").description("shares placed on the GPU (-1: held whole)")
                .register(registry);
        FunctionCounter.builder("pvecri.gpu.quota.stops", stops, AtomicLong::get)
                .description("containers stopped for their GPU quota since the daemon started").register(registry);
        Gauge.builder("pvecri.gpu.sample.seconds", sampleNanos, n -> n.get() / 1e9)
                .description("how long the last GPU sample took").register(registry);
        Gauge.builder("pvecri.gpus", gpus, g -> g.devices().size()).description("GPUs found on the node").register(registry);
    }

    private void gpuFamily(String name, String description, Function<GpuReading, Double> value) {
        gpuFamilies.add(new Family<>(MultiGauge.builder(name).description(description).register(registry), value));
    }

    private void containerFamily(String name, String description, Function<ContainerGpuUsage, Double> value) {
        containerFamilies.add(new Family<>(MultiGauge.builder(name).description(description).register(registry), value));
    }

    /** Starts refreshing every {@code interval}; the thread stops with the JVM. */
    public void poll(Duration interval) {
        Duration every = interval.compareTo(Duration.ofSeconds(1)) < 0 ? interval : Duration.ofSeconds(1);
        Thread.ofVirtual().name("gpu-metrics").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    refresh();
                } catch (RuntimeException e) {
                    // the next round tries again; the sampler logs NVML trouble itself
                }
                try {
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Reads the latest sample into the meters, when there is a new one. */
    public synchronized void refresh() {
        GpuSnapshot s = gpus.latestSnapshot().orElse(null);
        List<GpuDevice> devices = gpus.devices();
        info.register(devices.stream().map(d -> MultiGauge.Row.of(Tags.of("gpu_uuid", d.uuid(),
                "gpu_index", Integer.toString(d.index()), "name", d.name(), "pci_bus_id", d.pciBusId(),
                "minor", Integer.toString(d.minor())), 1)).toList(), true);
        List<GpuCapacity> capacity = gpus.capacity();
        Map<String, Long> totalMib = new HashMap<>();
        devices.forEach(d -> totalMib.put(d.uuid(), d.memoryTotalMib()));
        allocatedMemory.register(capacity.stream().map(c -> MultiGauge.Row.of(Tags.of("gpu_uuid", c.uuid()),
                c.wholeOwner().isPresent() ? c.memoryTotalMib() * 1048576.0
                        : (c.memoryTotalMib() - c.memoryFreeMib()) * 1048576.0)).toList(), true);
        allocatedCompute.register(capacity.stream().map(c -> MultiGauge.Row.of(Tags.of("gpu_uuid", c.uuid()),
                c.wholeOwner().isPresent() ? 100 : 100 - c.computeFreePercent())).toList(), true);
        shares.register(capacity.stream().map(c -> MultiGauge.Row.of(Tags.of("gpu_uuid", c.uuid()),
                c.wholeOwner().isPresent() ? -1 : c.shares())).toList(), true);
        if (s == null || s.sequence() == lastSequence) {
            return;
        }
        lastSequence = s.sequence();
        for (Family<GpuReading> f : gpuFamilies) {
            f.gauge().register(s.gpus().stream().filter(r -> !Double.isNaN(f.value().apply(r)))
                    .map(r -> MultiGauge.Row.of(Tags.of("gpu_uuid", r.uuid()), f.value().apply(r))).toList(), true);
        }
        for (Family<ContainerGpuUsage> f : containerFamilies) {
            // Summed per label set: two containers could share names (an old attempt still listed).
            Map<Tags, Double> rows = new java.util.LinkedHashMap<>();
            for (ContainerGpuUsage u : s.containers()) {
                double v = f.value().apply(u);
                if (!Double.isNaN(v)) {
                    rows.merge(containerTags(u), v, Double::sum);
                }
            }
            f.gauge().register(rows.entrySet().stream().map(e -> MultiGauge.Row.of(e.getKey(), e.getValue())).toList(), true);
        }
        for (GpuReading r : s.gpus()) {
            if (r.error().isPresent()) {
                sampleErrors.computeIfAbsent(r.uuid(), u -> Counter.builder("pvecri.gpu.sample.errors")
                        .description("GPU samples with a failed NVML call").tag("gpu_uuid", u).register(registry)).increment();
            }
        }
        Map<Tags, Long> now = new HashMap<>();
        for (QuotaStatus q : s.quotas()) {
            Tags base = Tags.of("namespace", q.labels().namespace(), "pod", q.labels().pod(),
                    "container", containerName(q.labels().container(), q.containerId()), "policy", q.policy().id());
            now.merge(base.and("resource", "memory"), q.memoryViolations(), Long::sum);
            now.merge(base.and("resource", "compute"), q.computeViolations(), Long::sum);
        }
        now.forEach((tags, value) -> {
            violations.computeIfAbsent(tags, t -> {
                AtomicLong v = new AtomicLong();
                violationMeters.put(t, FunctionCounter.builder("pvecri.gpu.quota.violations", v, AtomicLong::get)
                        .description("GPU quota violations (whole windows over the share)").tags(t).register(registry));
                return v;
            }).set(value);
        });
        for (Tags gone : List.copyOf(violations.keySet())) {
            if (!now.containsKey(gone)) {
                violations.remove(gone);
                Meter m = violationMeters.remove(gone);
                if (m != null) {
                    registry.remove(m);
                }
            }
        }
        stops.set(s.stopsTotal());
        sampleNanos.set(s.sampleDuration().toNanos());
    }

    private static Tags containerTags(ContainerGpuUsage u) {
        return Tags.of("namespace", u.labels().namespace(), "pod", u.labels().pod(),
                "container", containerName(u.labels().container(), u.containerId()), "gpu_uuid", u.gpuUuid());
    }

    /** The container's name, or its id for a container without GPU allocation (its names are not known here). */
    private static String containerName(String name, String id) {
        return name.isEmpty() ? id : name;
    }
}
