package io.pvecri.daemon.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pvecri.daemon.rootfs.RootfsFormat;

import java.time.Duration;

/**
 * {@code pvecri_rootfs_operation_seconds{format,op,result}}: every rootfs format operation
 * (prepare, release, image_build, image_remove, recover), timed, with result ok or error.
 */
public final class RootfsMetrics implements RootfsFormat.Observer {
    private final MeterRegistry registry;

    public RootfsMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void done(String format, String op, long nanos, Throwable failure) {
        Timer.builder("pvecri.rootfs.operation")
                .description("container rootfs operations of the storage format")
                .tag("format", format).tag("op", op).tag("result", failure == null ? "ok" : "error")
                .register(registry).record(Duration.ofNanos(nanos));
    }
}
