package io.pvecri.daemon.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pvecri.proxmox.PveCall;
import io.pvecri.proxmox.PveCallListener;

/**
 * Every PVE API call as {@code pvecri_pve_api_calls_seconds} (count, sum, max), tagged with method,
 * endpoint template ({@code /nodes/{node}/lxc/{vmid}/clone}), node and outcome ({@code ok},
 * {@code locked}, {@code permission_denied}, ...). The client logs each call itself.
 */
public final class PveMetrics implements PveCallListener {
    private final MeterRegistry registry;

    public PveMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void onCall(PveCall call) {
        Timer.builder("pvecri.pve.api.calls")
                .description("Proxmox VE API calls by endpoint and outcome")
                .tag("method", call.method())
                .tag("endpoint", call.endpoint())
                .tag("node", call.node())
                .tag("outcome", call.outcome())
                .register(registry)
                .record(call.latency());
    }
}
