package io.pvecri.network;

/** Traffic counters of one bridge, read in the host network namespace. */
public record BridgeCounters(String bridge, long rxBytes, long rxPackets, long rxErrors, long rxDropped,
                             long txBytes, long txPackets, long txErrors, long txDropped) {
}
