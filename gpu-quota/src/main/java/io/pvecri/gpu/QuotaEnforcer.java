package io.pvecri.gpu;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Compares each share with its container's usage, sample after sample. A sample is "over" when
 * memory used exceeds the share's memory or compute exceeds its percent. {@code window}
 * consecutive over samples make one violation (and each further {@code window} in a row another
 * one). A violation is logged and counted; under {@link QuotaPolicy.Stop} the {@link Stopper} is
 * also called, once per container (again on the next over sample if it threw).
 * Not thread-safe: one sampling thread.
 */
final class QuotaEnforcer {

    private static final System.Logger LOG = System.getLogger(QuotaEnforcer.class.getName());

    private static final class State {
        int consecutive;
        long memoryViolations;
        long computeViolations;
        boolean stopPending;
        boolean stopped;
        Optional<String> lastViolation = Optional.empty();
    }

    private final Stopper stopper;
    private final Map<String, State> states = new HashMap<>();
    private final AtomicLong violationsTotal = new AtomicLong();
    private final AtomicLong stopsTotal = new AtomicLong();

    QuotaEnforcer(Stopper stopper) {
        this.stopper = stopper;
    }

    long violationsTotal() {
        return violationsTotal.get();
    }

    long stopsTotal() {
        return stopsTotal.get();
    }

    List<QuotaStatus> evaluate(List<ContainerGpuUsage> usages, Collection<GpuAllocation> allocations) {
        List<GpuAllocation> shares = allocations.stream().filter(a -> a.kind() == GpuAllocation.Kind.SHARE).toList();
        Set<String> live = shares.stream().map(GpuAllocation::containerId).collect(Collectors.toSet());
        states.keySet().retainAll(live);
        List<QuotaStatus> out = new ArrayList<>(shares.size());
        for (GpuAllocation a : shares) {
            State s = states.computeIfAbsent(a.containerId(), k -> new State());
            ContainerGpuUsage u = usages.stream()
                    .filter(x -> x.containerId().equals(a.containerId()) && x.allocated()).findFirst().orElse(null);
            if (u != null) {
                step(a, u, s);
            }
            out.add(new QuotaStatus(a.containerId(), a.labels(), a.quota().policy(), a.quota().violationWindow(),
                    s.consecutive, s.memoryViolations, s.computeViolations, s.stopped, s.lastViolation));
        }
        return out;
    }

    private void step(GpuAllocation a, ContainerGpuUsage u, State s) {
        boolean memoryOver = u.memoryLimitBytes().isPresent() && u.memoryUsedBytes() > u.memoryLimitBytes().getAsLong();
        boolean computeOver = u.computeLimitPercent().isPresent() && u.computePercent() > u.computeLimitPercent().getAsInt();
        if (!memoryOver && !computeOver) {
            s.consecutive = 0;
            return;
        }
        s.consecutive++;
        int window = a.quota().violationWindow();
        if (s.consecutive % window == 0) {
            List<String> what = new ArrayList<>(2);
            if (memoryOver) {
                s.memoryViolations++;
                what.add("memory " + u.memoryUsedBytes() / GpuDevice.MIB + " MiB > share " + a.memoryMib() + " MiB");
            }
            if (computeOver) {
                s.computeViolations++;
                what.add(String.format(java.util.Locale.ROOT, "compute %.1f%% > share %d%%", u.computePercent(),
                        a.computePercent()));
            }
            violationsTotal.incrementAndGet();
            String reason = "GPU quota exceeded: " + String.join(", ", what) + " on " + u.gpuUuid() + " for "
                    + s.consecutive + " consecutive samples";
            s.lastViolation = Optional.of(reason);
            LOG.log(System.Logger.Level.WARNING, "container {0} (pod {1}/{2}): {3}; policy {4}", a.containerId(),
                    a.labels().namespace(), a.labels().pod(), reason, a.quota().policy().id());
            if (a.quota().policy() instanceof QuotaPolicy.Stop) {
                s.stopPending = true;
            }
        }
        if (s.stopPending && !s.stopped) {
            try {
                stopper.stop(a.containerId(), s.lastViolation.orElseThrow());
                s.stopped = true;
                stopsTotal.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, "container {0} stopped for its GPU quota", a.containerId());
            } catch (Exception e) {
                LOG.log(System.Logger.Level.ERROR, "stopping container {0} for its GPU quota failed (retried on the "
                        + "next sample over the share): {1}", a.containerId(), e.toString());
            }
        }
    }
}
