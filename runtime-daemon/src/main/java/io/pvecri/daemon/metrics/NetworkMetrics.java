package io.pvecri.daemon.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.pvecri.network.BridgeCounters;
import io.pvecri.network.NetworkEvent;
import io.pvecri.network.NetworkListener;
import io.pvecri.network.PodNetworks;

import java.time.Duration;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Pod network metrics: {@code pvecri_network_operation_seconds{operation,result}} per
 * setUp/tearDown/reconcile, and per-bridge counters ({@code pvecri_bridge_rx_bytes{bridge}} ...)
 * refreshed every 15 s by a virtual thread (bridges come and go with isolation groups).
 */
public final class NetworkMetrics implements NetworkListener {
    private static final Duration POLL = Duration.ofSeconds(15);

    private final MeterRegistry registry;

    public NetworkMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void onEvent(NetworkEvent e) {
        Timer.builder("pvecri.network.operation").description("pod network setUp/tearDown/reconcile")
                .tag("operation", e.operation().name().toLowerCase()).tag("result", e.success() ? "ok" : "error")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry).record(e.duration());
    }

    /** Starts the bridge counter poller; it stops with the JVM (daemon thread). */
    public void pollBridges(PodNetworks network) {
        List<Row> rows = List.of(
                new Row("pvecri.bridge.rx.bytes", BridgeCounters::rxBytes), new Row("pvecri.bridge.tx.bytes", BridgeCounters::txBytes),
                new Row("pvecri.bridge.rx.packets", BridgeCounters::rxPackets), new Row("pvecri.bridge.tx.packets", BridgeCounters::txPackets),
                new Row("pvecri.bridge.rx.errors", BridgeCounters::rxErrors), new Row("pvecri.bridge.tx.errors", BridgeCounters::txErrors));
        List<MultiGauge> gauges = rows.stream().map(r -> MultiGauge.builder(r.name()).description("bridge counter (from the kernel)").register(registry)).toList();
        Thread.ofVirtual().name("bridge-counters").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    List<BridgeCounters> counters = network.bridgeCounters();
                    for (int i = 0; i < rows.size(); i++) {
                        ToLongFunction<BridgeCounters> f = rows.get(i).value();
                        gauges.get(i).register(counters.stream()
                                .map(c -> MultiGauge.Row.of(Tags.of("bridge", c.bridge()), f.applyAsLong(c))).toList(), true);
                    }
                    Thread.sleep(POLL);
                } catch (InterruptedException ie) {
                    return;
                } catch (RuntimeException ex) {
                    try {
                        Thread.sleep(POLL);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        });
    }

    private record Row(String name, ToLongFunction<BridgeCounters> value) {}
}
