package io.pvecri.daemon.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pvecri.daemon.util.Log;
import io.pvecri.image.GcListener;
import io.pvecri.image.GcResult;
import io.pvecri.image.GcTrigger;
import io.pvecri.image.ImageRecord;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Logs and counts image garbage collection: one {@code image.gc_removed} line per removed image
 * and one {@code image.gc} line per run (trigger, removed, reclaimed bytes, ms, usage before and
 * after), and, by {@code trigger}: {@code pvecri_image_gc_runs_total},
 * {@code pvecri_image_gc_removed_images_total}, {@code pvecri_image_gc_reclaimed_bytes_total},
 * {@code pvecri_image_gc_seconds} and {@code pvecri_image_gc_errors_total}. Every trigger's
 * series exist from the start (at 0).
 */
public final class ImageGcMetrics implements GcListener {
    private static final Log LOG = Log.get(ImageGcMetrics.class);

    private record Meters(Counter runs, Counter images, Counter bytes, Counter errors, Timer seconds) {}

    private final Map<GcTrigger, Meters> meters = new EnumMap<>(GcTrigger.class);

    public ImageGcMetrics(MeterRegistry registry) {
        for (GcTrigger t : GcTrigger.values()) {
            meters.put(t, new Meters(
                    Counter.builder("pvecri.image.gc.runs").description("image garbage collection runs, by trigger")
                            .tag("trigger", t.label()).register(registry),
                    Counter.builder("pvecri.image.gc.removed.images").description("images removed by garbage collection, by trigger")
                            .tag("trigger", t.label()).register(registry),
                    Counter.builder("pvecri.image.gc.reclaimed.bytes").description("bytes freed by image garbage collection, by trigger")
                            .baseUnit("bytes").tag("trigger", t.label()).register(registry),
                    Counter.builder("pvecri.image.gc.errors").description("image garbage collection failures (measuring, removing)")
                            .tag("trigger", t.label()).register(registry),
                    Timer.builder("pvecri.image.gc").description("duration of image garbage collection runs, by trigger")
                            .tag("trigger", t.label()).publishPercentileHistogram()
                            .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10))
                            .register(registry)));
        }
    }

    @Override
    public void imageCollected(GcTrigger trigger, ImageRecord image, long reclaimedBytes) {
        LOG.info("image.gc_removed", "trigger", trigger.label(), "id", image.id(), "tags", String.join(",", image.repoTags()),
                "last_used", image.lastUsed(), "bytes", reclaimedBytes);
    }

    @Override
    public void gcFinished(GcResult r) {
        Meters m = meters.get(r.trigger());
        m.runs().increment();
        m.images().increment(r.removed().size());
        m.bytes().increment(r.reclaimedBytes());
        m.seconds().record(r.elapsed());
        Object[] kv = {"trigger", r.trigger().label(), "removed", r.removed().size(), "reclaimed_bytes", r.reclaimedBytes(),
                "ms", r.elapsed().toMillis(), "usage_before", percent(r.before()), "usage_after", percent(r.after()),
                "wanted_bytes", r.wantedBytes(), "errors", r.errors().size()};
        if (r.reclaimedBytes() < r.wantedBytes()) {
            LOG.warn("image.gc", append(kv, "note", "not enough images without containers to reach the target"));
        } else {
            LOG.info("image.gc", kv);
        }
    }

    @Override
    public void gcFailed(GcTrigger trigger, String error) {
        meters.get(trigger).errors().increment();
        LOG.warn("image.gc_failed", "trigger", trigger.label(), "error", error);
    }

    private static String percent(io.pvecri.image.DiskUsage u) {
        return u == null ? "-" : String.format(Locale.ROOT, "%.1f%%", u.usedPercent());
    }

    private static Object[] append(Object[] kv, Object... more) {
        Object[] out = java.util.Arrays.copyOf(kv, kv.length + more.length);
        System.arraycopy(more, 0, out, kv.length, more.length);
        return out;
    }
}
