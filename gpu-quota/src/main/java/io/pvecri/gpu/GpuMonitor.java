package io.pvecri.gpu;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Runs sample → aggregate → enforce, on a timer or on demand, and keeps the last snapshot. */
final class GpuMonitor implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(GpuMonitor.class.getName());

    private final UsageSampler sampler;
    private final QuotaEnforcer enforcer;
    private final Supplier<Collection<GpuAllocation>> allocations;
    private final Clock clock;
    private ScheduledExecutorService timer;
    private long sequence;
    private volatile GpuSnapshot latest;

    GpuMonitor(UsageSampler sampler, QuotaEnforcer enforcer, Supplier<Collection<GpuAllocation>> allocations,
               Clock clock) {
        this.sampler = sampler;
        this.enforcer = enforcer;
        this.allocations = allocations;
        this.clock = clock;
    }

    synchronized GpuSnapshot sampleNow() {
        long start = System.nanoTime();
        Instant at = clock.instant();
        List<UsageSampler.DeviceSample> samples = sampler.sample();
        Duration cost = Duration.ofNanos(System.nanoTime() - start);
        Collection<GpuAllocation> current = allocations.get();
        List<ContainerGpuUsage> usages = UsageAggregator.aggregate(samples, current);
        List<QuotaStatus> quotas = enforcer.evaluate(usages, current);
        GpuSnapshot s = new GpuSnapshot(at, ++sequence, cost,
                samples.stream().map(UsageSampler.DeviceSample::reading).toList(), usages, quotas,
                enforcer.violationsTotal(), enforcer.stopsTotal());
        latest = s;
        return s;
    }

    Optional<GpuSnapshot> latest() {
        return Optional.ofNullable(latest);
    }

    synchronized void start(Duration interval) {
        if (timer != null) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gpu-sampler");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                sampleNow();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "GPU sample failed", e);
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        ScheduledExecutorService t;
        synchronized (this) {
            t = timer;
            timer = null;
        }
        if (t != null) {
            t.shutdownNow();
            try {
                t.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
