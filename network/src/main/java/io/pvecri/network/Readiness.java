package io.pvecri.network;

/**
 * The NetworkReady condition the daemon reports to kubelet. {@code reason} and {@code message}
 * are empty when ready.
 */
public record Readiness(boolean ready, String reason, String message) {
    static Readiness ok() {
        return new Readiness(true, "", "");
    }

    static Readiness notReady(String reason, String message) {
        return new Readiness(false, reason, message);
    }
}
