package io.pvecri.proxmox;

/**
 * Observes every HTTP exchange with PVE (count, errors, latency per endpoint). The daemon implements
 * it with Micrometer, e.g. a timer {@code pvecri.pve.call} tagged {@code method}, {@code endpoint},
 * {@code outcome}. Called on the calling thread after each attempt; must be fast and must not throw
 * (exceptions are caught and logged).
 */
@FunctionalInterface
public interface PveCallListener {

    void onCall(PveCall call);

    /** Ignores everything. */
    PveCallListener NONE = call -> { };
}
