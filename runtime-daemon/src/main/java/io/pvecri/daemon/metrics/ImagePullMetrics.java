package io.pvecri.daemon.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pvecri.daemon.util.Log;
import io.pvecri.image.ImageCacheException;
import io.pvecri.image.PullListener;
import io.pvecri.image.PullResult;

import java.time.Duration;

/**
 * Logs and counts registry pulls: one line when a pull starts and one when it ends (bytes,
 * layers fetched and reused, ms), and {@code pvecri_image_pull_bytes_total},
 * {@code pvecri_image_pull_seconds}, {@code pvecri_image_pull_cache_hits_total},
 * {@code pvecri_image_pull_cache_misses_total} and {@code pvecri_image_pull_errors_total{reason}}.
 */
public final class ImagePullMetrics implements PullListener {
    private static final Log LOG = Log.get(ImagePullMetrics.class);

    private final MeterRegistry registry;
    private final Counter bytes;
    private final Counter hits;
    private final Counter misses;
    private final Timer seconds;

    public ImagePullMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.bytes = Counter.builder("pvecri.image.pull.bytes").description("bytes downloaded from registries by pulls")
                .baseUnit("bytes").register(registry);
        this.hits = Counter.builder("pvecri.image.pull.cache.hits")
                .description("pulls of images already in the store (no layer downloaded)").register(registry);
        this.misses = Counter.builder("pvecri.image.pull.cache.misses")
                .description("pulls that downloaded and unpacked a new image").register(registry);
        this.seconds = Timer.builder("pvecri.image.pull").description("duration of successful pulls")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(10))
                .maximumExpectedValue(Duration.ofMinutes(30)).register(registry);
    }

    @Override
    public void pullStarted(String reference) {
        LOG.info("image.pull_started", "image", reference);
    }

    @Override
    public void pullFinished(PullResult r) {
        bytes.increment(r.bytesFetched());
        (r.cacheHit() ? hits : misses).increment();
        seconds.record(r.elapsed());
        LOG.info("image.pulled", "image", r.reference(), "id", r.image().id(), "digest", r.manifestDigest(),
                "bytes", r.bytesFetched(), "layers_fetched", r.layersFetched(), "layers_reused", r.layersReused(),
                "cache_hit", r.cacheHit(), "ms", r.elapsed().toMillis());
    }

    @Override
    public void pullFailed(String reference, String reason, ImageCacheException error, Duration elapsed) {
        Counter.builder("pvecri.image.pull.errors").description("failed pulls, by reason").tag("reason", reason)
                .register(registry).increment();
        LOG.warn("image.pull_failed", "image", reference, "reason", reason, "ms", elapsed.toMillis(),
                "error", error.getMessage());
    }
}
